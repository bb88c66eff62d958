package com.panops.crypto.testkit.internal.kms;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 for request headers ({@code Authorization: AWS4-HMAC-SHA256
 * Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=..., Signature=...}): parsing the
 * header, computing the signature the way AWS does, and comparing in constant time. The payload
 * hash is always computed from the received body.
 */
public final class SigV4 {

  public static final String ALGORITHM = "AWS4-HMAC-SHA256";

  private SigV4() {}

  /** The parsed parts of an {@code Authorization} header. */
  public record Authorization(
      String accessKeyId,
      String date,
      String region,
      String service,
      List<String> signedHeaders,
      String signature) {

    public String scope() {
      return date + "/" + region + "/" + service + "/aws4_request";
    }
  }

  /** Thrown for an Authorization header that is not a complete SigV4 header. */
  public static final class MalformedAuthorizationException extends Exception {
    private static final long serialVersionUID = 1L;

    MalformedAuthorizationException(String message) {
      super(message);
    }
  }

  /** Parses an Authorization header value. */
  public static Authorization parse(String header) throws MalformedAuthorizationException {
    if (header == null || !header.startsWith(ALGORITHM + " ")) {
      throw new MalformedAuthorizationException(
          "Authorization header requires the " + ALGORITHM + " algorithm.");
    }
    Map<String, String> parts = new TreeMap<>();
    for (String part : header.substring(ALGORITHM.length() + 1).split(",")) {
      String p = part.trim();
      int eq = p.indexOf('=');
      if (eq <= 0) {
        throw new MalformedAuthorizationException("Malformed Authorization header element.");
      }
      parts.put(p.substring(0, eq), p.substring(eq + 1));
    }
    String credential = parts.get("Credential");
    String signed = parts.get("SignedHeaders");
    String signature = parts.get("Signature");
    if (credential == null || signed == null || signature == null) {
      throw new MalformedAuthorizationException(
          "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.");
    }
    String[] c = credential.split("/");
    if (c.length != 5 || !c[4].equals("aws4_request") || c[0].isEmpty()) {
      throw new MalformedAuthorizationException(
          "Credential must have the form AKID/date/region/service/aws4_request.");
    }
    List<String> headers = new ArrayList<>();
    for (String h : signed.split(";")) {
      if (h.isEmpty()) {
        throw new MalformedAuthorizationException("Empty name in SignedHeaders.");
      }
      headers.add(h.toLowerCase(Locale.ROOT));
    }
    return new Authorization(c[0], c[1], c[2], c[3], List.copyOf(headers), signature);
  }

  /**
   * The hex signature of a request.
   *
   * @param headerValues looks a header up by its lower-case name; returns all its values or null
   */
  public static String signature(
      String secretAccessKey,
      Authorization auth,
      String method,
      String rawPath,
      String rawQuery,
      Function<String, List<String>> headerValues,
      byte[] body,
      String amzDate) {
    String canonicalRequest =
        method
            + "\n"
            + canonicalUri(rawPath)
            + "\n"
            + canonicalQuery(rawQuery)
            + "\n"
            + canonicalHeaders(auth.signedHeaders(), headerValues)
            + "\n"
            + String.join(";", auth.signedHeaders())
            + "\n"
            + hex(sha256(body));
    String stringToSign =
        ALGORITHM
            + "\n"
            + amzDate
            + "\n"
            + auth.scope()
            + "\n"
            + hex(sha256(canonicalRequest.getBytes(StandardCharsets.UTF_8)));
    byte[] key = hmac(("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8), auth.date());
    key = hmac(key, auth.region());
    key = hmac(key, auth.service());
    key = hmac(key, "aws4_request");
    return hex(hmac(key, stringToSign));
  }

  /** Compares two signatures in constant time. */
  public static boolean signaturesEqual(String expected, String provided) {
    return MessageDigest.isEqual(
        expected.getBytes(StandardCharsets.US_ASCII),
        provided.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII));
  }

  /**
   * Builds an Authorization header value for a request (used by tests that send raw HTTP). The
   * header values looked up must include every signed header, {@code x-amz-date} among them.
   */
  public static String authorizationHeader(
      String accessKeyId,
      String secretAccessKey,
      String region,
      String service,
      String amzDate,
      List<String> signedHeaders,
      String method,
      String rawPath,
      String rawQuery,
      Function<String, List<String>> headerValues,
      byte[] body) {
    List<String> names = new ArrayList<>();
    for (String h : signedHeaders) {
      names.add(h.toLowerCase(Locale.ROOT));
    }
    names.sort(null);
    Authorization auth =
        new Authorization(
            accessKeyId, amzDate.substring(0, 8), region, service, List.copyOf(names), "");
    String sig =
        signature(secretAccessKey, auth, method, rawPath, rawQuery, headerValues, body, amzDate);
    return ALGORITHM
        + " Credential="
        + accessKeyId
        + "/"
        + auth.scope()
        + ", SignedHeaders="
        + String.join(";", names)
        + ", Signature="
        + sig;
  }

  private static String canonicalUri(String rawPath) {
    if (rawPath == null || rawPath.isEmpty()) {
      return "/";
    }
    StringBuilder sb = new StringBuilder();
    String[] segments = rawPath.split("/", -1);
    for (int i = 0; i < segments.length; i++) {
      if (i > 0) {
        sb.append('/');
      }
      sb.append(uriEncode(segments[i]));
    }
    return sb.toString();
  }

  private static String canonicalQuery(String rawQuery) {
    if (rawQuery == null || rawQuery.isEmpty()) {
      return "";
    }
    List<String[]> pairs = new ArrayList<>();
    for (String p : rawQuery.split("&")) {
      if (p.isEmpty()) {
        continue;
      }
      int eq = p.indexOf('=');
      String k = eq < 0 ? p : p.substring(0, eq);
      String v = eq < 0 ? "" : p.substring(eq + 1);
      pairs.add(new String[] {uriEncode(decode(k)), uriEncode(decode(v))});
    }
    pairs.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
    StringBuilder sb = new StringBuilder();
    for (String[] p : pairs) {
      if (sb.length() > 0) {
        sb.append('&');
      }
      sb.append(p[0]).append('=').append(p[1]);
    }
    return sb.toString();
  }

  private static String decode(String s) {
    return java.net.URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }

  private static String canonicalHeaders(
      List<String> signedHeaders, Function<String, List<String>> headerValues) {
    StringBuilder sb = new StringBuilder();
    for (String name : signedHeaders) {
      List<String> values = headerValues.apply(name);
      List<String> trimmed = new ArrayList<>();
      if (values != null) {
        for (String v : values) {
          trimmed.add(v.trim().replaceAll(" +", " "));
        }
      }
      sb.append(name).append(':').append(String.join(",", trimmed)).append('\n');
    }
    return sb.toString();
  }

  static String uriEncode(String s) {
    StringBuilder sb = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char c = (char) (b & 0xff);
      if ((c >= 'A' && c <= 'Z')
          || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '_'
          || c == '.'
          || c == '~') {
        sb.append(c);
      } else {
        sb.append('%').append(String.format("%02X", b & 0xff));
      }
    }
    return sb.toString();
  }

  static byte[] sha256(byte[] data) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(data);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }
}
