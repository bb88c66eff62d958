package com.panops.crypto.kms;

import java.net.URI;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * What counts as an acceptable KMS endpoint: HTTPS, or with the plain-HTTP opt-in a literal
 * loopback address reached without a proxy. The one place the library decides what a local test
 * endpoint is (KMS, and the S3 adapter). Every request is checked again as it is sent ({@link
 * TransportCheck}).
 */
public final class Endpoints {
  private Endpoints() {}

  /**
   * Early feedback at build time: refuses a client whose endpoint override is not HTTPS, unless
   * {@code allowLocalHttp} and the endpoint is a literal loopback address. This is not what
   * enforces HTTPS (a client can pick its endpoint in other ways, such as an endpoint provider):
   * every request is checked as it is sent, see {@link TransportCheck}.
   *
   * @throws IllegalArgumentException if the endpoint is not acceptable
   */
  public static void checkEndpoint(KmsClient client, boolean allowLocalHttp) {
    URI endpoint;
    try {
      endpoint = client.serviceClientConfiguration().endpointOverride().orElse(null);
    } catch (UnsupportedOperationException e) {
      return; // a client of the caller's own (a fake, a wrapper): checked per request instead
    }
    if (endpoint == null || "https".equalsIgnoreCase(endpoint.getScheme())) {
      return;
    }
    if (!allowLocalHttp) {
      throw new IllegalArgumentException(
          "KMS endpoint "
              + endpoint
              + " is not HTTPS; only a local test endpoint may be plain HTTP, and the builder must"
              + " be told so with allowInsecureLocalKmsEndpoint()");
    }
    if (!isLoopback(endpoint.getHost())) {
      throw new IllegalArgumentException(
          "KMS endpoint " + endpoint + " is plain HTTP and not a loopback address");
    }
    String proxy = LocalHttpProxies.inTheWay(endpoint);
    if (proxy != null) {
      throw new IllegalArgumentException(
          "KMS endpoint " + endpoint + " is plain HTTP, and " + proxy + LocalHttpProxies.ADVICE);
    }
  }

  /**
   * The proxy setting that could carry a plain-HTTP request to {@code endpoint} through a proxy
   * that is not a literal loopback address (described by the setting's name and the proxy's host,
   * never its credentials), or {@code null}. For the S3 adapter's plain-HTTP opt-in.
   */
  public static String localHttpProxy(URI endpoint) {
    return LocalHttpProxies.inTheWay(endpoint);
  }

  /**
   * Whether {@code host} is a literal loopback address: an IPv4 address in 127.0.0.0/8 written as
   * four decimal octets, or the IPv6 address {@code ::1} (in any of its spellings, with or without
   * brackets). Never a name, not even {@code localhost}: nothing here looks anything up, and a name
   * can resolve elsewhere. The one place the library decides what counts as a local test endpoint
   * (KMS, and the S3 adapter).
   */
  public static boolean isLoopback(String host) {
    if (host == null || host.isEmpty()) {
      return false;
    }
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (h.indexOf(':') >= 0) {
      return isIpv6Loopback(h);
    }
    String[] parts = h.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (int i = 0; i < 4; i++) {
      String p = parts[i];
      if (p.isEmpty() || p.length() > 3) {
        return false;
      }
      for (int j = 0; j < p.length(); j++) {
        char c = p.charAt(j);
        if (c < '0' || c > '9') {
          return false;
        }
      }
      int v = Integer.parseInt(p);
      if (v > 255 || (i == 0 && v != 127)) {
        return false;
      }
    }
    return true;
  }

  private static boolean isIpv6Loopback(String h) {
    // Only hex digits and colons (no zone id, no embedded IPv4): parse the groups by hand.
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      boolean hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':') {
        return false;
      }
    }
    int gap = h.indexOf("::");
    if (gap >= 0 && h.indexOf("::", gap + 1) >= 0) {
      return false;
    }
    String[] head = gap >= 0 ? splitGroups(h.substring(0, gap)) : splitGroups(h);
    String[] tail = gap >= 0 ? splitGroups(h.substring(gap + 2)) : new String[0];
    if (head == null || tail == null) {
      return false;
    }
    int groups = head.length + tail.length;
    if ((gap < 0 && groups != 8) || (gap >= 0 && groups > 7)) {
      return false;
    }
    long[] value = new long[8];
    for (int i = 0; i < head.length; i++) {
      value[i] = Long.parseLong(head[i], 16);
    }
    for (int i = 0; i < tail.length; i++) {
      value[8 - tail.length + i] = Long.parseLong(tail[i], 16);
    }
    for (int i = 0; i < 7; i++) {
      if (value[i] != 0) {
        return false;
      }
    }
    return value[7] == 1;
  }

  private static String[] splitGroups(String s) {
    if (s.isEmpty()) {
      return new String[0];
    }
    String[] g = s.split(":", -1);
    for (String x : g) {
      if (x.isEmpty() || x.length() > 4) {
        return null;
      }
    }
    return g;
  }
}
