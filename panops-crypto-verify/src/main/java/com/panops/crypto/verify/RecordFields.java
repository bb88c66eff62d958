package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.panops.crypto.verify.RecordReader.MalformedRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a KMS record's JSON into a {@link KmsRecord}: the caller folded to its role, the keys it
 * concerns, and the few request and response members the analysis reads. Repeated strings are
 * shared (one instance per distinct value), which keeps a reorder buffer of many records small.
 */
final class RecordFields {

  private static final Pattern ASSUMED_ROLE =
      Pattern.compile("arn:(aws[a-z-]*):sts::(\\d{12}):assumed-role/([^/]+)/.*");
  private static final Pattern KEY_ID =
      Pattern.compile(
          "(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})");
  private static final int MAX_SHARED = 100_000;

  private final Map<String, String> shared = new HashMap<>();

  KmsRecord of(JsonNode r, String source) throws MalformedRecord {
    String eventId = text(r, "eventID");
    if (eventId == null) {
      throw new MalformedRecord("no eventID");
    }
    String eventName = text(r, "eventName");
    if (eventName == null) {
      throw new MalformedRecord("no eventName");
    }
    JsonNode who = r.path("userIdentity");
    JsonNode params = r.path("requestParameters");
    JsonNode response = r.path("responseElements");
    boolean createGrant = eventName.equals("CreateGrant");
    boolean grantEnd = eventName.equals("RevokeGrant") || eventName.equals("RetireGrant");
    String policy =
        eventName.equals("PutKeyPolicy") || eventName.equals("CreateKey")
            ? text(params, "policy")
            : null;
    String grantId =
        createGrant ? text(response, "grantId") : grantEnd ? text(params, "grantId") : null;
    return new KmsRecord(
        eventId,
        RecordReader.time(r),
        share(eventName),
        share(principal(who)),
        share(text(who, "accountId")),
        share(text(r, "userAgent")),
        keys(r, params, response),
        share(text(r, "errorCode")),
        text(r, "requestID"),
        policy,
        grantId,
        createGrant ? share(folded(text(params, "granteePrincipal"))) : null,
        createGrant ? texts(params.path("operations")) : List.of(),
        source);
  }

  /**
   * The caller as a role: the session issuer of an assumed-role session, the role in an {@code
   * assumed-role} ARN, else the ARN; an account or an AWS service when the record names no ARN.
   */
  static String principal(JsonNode who) {
    String issuer = text(who.path("sessionContext").path("sessionIssuer"), "arn");
    if ("AssumedRole".equals(text(who, "type")) && issuer != null) {
      return issuer;
    }
    String arn = text(who, "arn");
    if (arn != null) {
      return folded(arn);
    }
    String account = text(who, "accountId");
    String invokedBy = text(who, "invokedBy");
    if (invokedBy != null) {
      return "service:" + invokedBy;
    }
    return account != null ? "account:" + account : "unknown";
  }

  /** An assumed-role session ARN as its role's ARN; any other value unchanged. */
  static String folded(String arn) {
    if (arn == null) {
      return null;
    }
    Matcher m = ASSUMED_ROLE.matcher(arn);
    return m.matches() ? "arn:" + m.group(1) + ":iam::" + m.group(2) + ":role/" + m.group(3) : arn;
  }

  private List<String> keys(JsonNode r, JsonNode params, JsonNode response) {
    List<String> keys = new ArrayList<>(2);
    for (JsonNode res : r.path("resources")) {
      String arn = text(res, "ARN");
      if (arn != null && arn.contains(":kms:") && arn.contains(":key/")) {
        add(keys, arn);
      }
    }
    if (keys.isEmpty()) {
      String region = text(r, "awsRegion");
      String account = text(r, "recipientAccountId");
      for (String member : new String[] {"keyId", "sourceKeyId", "destinationKeyId"}) {
        String id = text(params, member);
        if (id != null && id.startsWith("arn:") && id.contains(":key/")) {
          add(keys, id);
        } else if (id != null
            && KEY_ID.matcher(id).matches()
            && region != null
            && account != null) {
          add(keys, "arn:aws:kms:" + region + ":" + account + ":key/" + id);
        }
      }
      String created = text(response.path("keyMetadata"), "arn");
      if (created != null && created.contains(":key/")) {
        add(keys, created);
      }
      String deleted = text(response, "keyId");
      if (deleted != null && deleted.startsWith("arn:") && deleted.contains(":key/")) {
        add(keys, deleted);
      }
    }
    return List.copyOf(keys);
  }

  private void add(List<String> keys, String arn) {
    String s = share(arn);
    if (!keys.contains(s)) {
      keys.add(s);
    }
  }

  private List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    for (JsonNode n : array) {
      if (n.isTextual()) {
        out.add(share(n.asText()));
      }
    }
    return List.copyOf(out);
  }

  /** One instance per distinct value (up to a bound: past it, values are kept as they come). */
  private String share(String s) {
    if (s == null) {
      return null;
    }
    String seen = shared.get(s);
    if (seen != null) {
      return seen;
    }
    if (shared.size() < MAX_SHARED) {
      shared.put(s, s);
    }
    return s;
  }

  static String text(JsonNode node, String name) {
    JsonNode v = node == null ? null : node.get(name);
    return v != null && v.isTextual() ? v.asText() : null;
  }
}
