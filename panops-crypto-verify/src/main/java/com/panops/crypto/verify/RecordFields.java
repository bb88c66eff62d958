package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.panops.crypto.verify.RecordReader.MalformedRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a KMS record's JSON into a {@link KmsRecord}: the caller folded to its role, the keys it
 * concerns, and the few request and response members the analysis reads. A member the analysis
 * reads that is present with the wrong JSON type makes the record malformed (never silently
 * harmless). Repeated strings are shared (one instance per distinct value), which keeps a reorder
 * buffer of many records small.
 */
final class RecordFields {

  private static final Pattern ASSUMED_ROLE =
      Pattern.compile("arn:(aws[a-z-]*):sts::(\\d{12}):assumed-role/([^/]+)/.*");
  private static final Pattern ROLE = Pattern.compile("arn:(aws[a-z-]*):iam::(\\d{12}):role/(.+)");
  private static final Pattern KEY_ID =
      Pattern.compile(
          "(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})");
  private static final int MAX_SHARED = 100_000;

  /** Only short strings are shared: a long one is rarely repeated and would stay for the run. */
  private static final int MAX_SHARED_LENGTH = 256;

  private final Map<String, String> shared = new HashMap<>();
  private final Instant latest;

  /**
   * @param latest the latest event time accepted (later is malformed: a clock far off)
   */
  RecordFields(Instant latest) {
    this.latest = latest;
  }

  KmsRecord of(JsonNode r, String source) throws MalformedRecord {
    String eventId = required(r, "eventID");
    String eventName = required(r, "eventName");
    JsonNode who = r.get("userIdentity");
    if (who == null || !who.isObject()) {
      throw new MalformedRecord("no userIdentity object");
    }
    JsonNode params = object(r, "requestParameters");
    JsonNode response = object(r, "responseElements");
    boolean createGrant = eventName.equals("CreateGrant");
    boolean grantEnd = eventName.equals("RevokeGrant") || eventName.equals("RetireGrant");
    boolean policyChange = eventName.equals("PutKeyPolicy") || eventName.equals("CreateKey");
    String errorCode = text(r, "errorCode");
    if (errorCode != null && errorCode.isBlank()) {
      throw new MalformedRecord("errorCode is empty");
    }
    String grantId =
        createGrant ? text(response, "grantId") : grantEnd ? text(params, "grantId") : null;
    return new KmsRecord(
        eventId,
        RecordReader.time(r, latest),
        share(eventName),
        share(principal(who)),
        share(text(who, "accountId")),
        share(text(r, "userAgent")),
        keys(r, params, response),
        share(errorCode),
        text(r, "requestID"),
        policyChange ? text(params, "policy") : null,
        grantId,
        createGrant ? share(folded(text(params, "granteePrincipal"))) : null,
        createGrant ? texts(params == null ? null : params.get("operations")) : List.of(),
        source);
  }

  /**
   * The caller as a role: the session issuer of an assumed-role session, the role in an {@code
   * assumed-role} ARN, else the ARN (a role's path dropped, so each role has one name); {@code
   * service:<name>} for an AWS service acting in its own name; {@code account:<id>} when the record
   * names only the caller's account (as for a call from another account, or KMS's own events).
   */
  static String principal(JsonNode who) throws MalformedRecord {
    String type = text(who, "type");
    JsonNode context = object(who, "sessionContext");
    String issuer = text(context == null ? null : object(context, "sessionIssuer"), "arn");
    if ("AssumedRole".equals(type) && issuer != null) {
      return folded(issuer);
    }
    String arn = text(who, "arn");
    if (arn != null) {
      return folded(arn);
    }
    String account = text(who, "accountId");
    String invokedBy = text(who, "invokedBy");
    if ("AWSService".equals(type) || (account == null && invokedBy != null)) {
      return "service:" + (invokedBy != null ? invokedBy : "unknown");
    }
    return account != null ? "account:" + account : "unknown";
  }

  /** A session ARN as its role's ARN, a role ARN without its path; any other value unchanged. */
  static String folded(String arn) {
    if (arn == null) {
      return null;
    }
    Matcher m = ASSUMED_ROLE.matcher(arn);
    if (m.matches()) {
      return "arn:" + m.group(1) + ":iam::" + m.group(2) + ":role/" + m.group(3);
    }
    Matcher r = ROLE.matcher(arn);
    if (r.matches()) {
      String name = r.group(3);
      return "arn:"
          + r.group(1)
          + ":iam::"
          + r.group(2)
          + ":role/"
          + name.substring(name.lastIndexOf('/') + 1);
    }
    return arn;
  }

  private List<String> keys(JsonNode r, JsonNode params, JsonNode response) throws MalformedRecord {
    List<String> keys = new ArrayList<>(2);
    JsonNode resources = r.get("resources");
    if (resources != null && !resources.isNull() && !resources.isArray()) {
      throw new MalformedRecord("resources is not an array");
    }
    for (JsonNode res : resources == null ? List.<JsonNode>of() : resources) {
      String arn = res.isObject() ? text(res, "ARN") : null;
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
          add(keys, "arn:" + partition(region) + ":kms:" + region + ":" + account + ":key/" + id);
        }
      }
      JsonNode metadata = object(response, "keyMetadata");
      String created = text(metadata, "arn");
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

  private static String partition(String region) {
    if (region.startsWith("cn-")) {
      return "aws-cn";
    }
    return region.startsWith("us-gov-") ? "aws-us-gov" : "aws";
  }

  private void add(List<String> keys, String arn) {
    String s = share(arn);
    if (!keys.contains(s)) {
      keys.add(s);
    }
  }

  private List<String> texts(JsonNode array) throws MalformedRecord {
    if (array == null || array.isNull()) {
      return List.of();
    }
    if (!array.isArray()) {
      throw new MalformedRecord("operations is not an array");
    }
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
    if (shared.size() < MAX_SHARED && s.length() <= MAX_SHARED_LENGTH) {
      shared.put(s, s);
    }
    return s;
  }

  private static String required(JsonNode node, String name) throws MalformedRecord {
    String v = text(node, name);
    if (v == null) {
      throw new MalformedRecord("no " + name);
    }
    return v;
  }

  /** The member as an object; null if absent or JSON null; malformed if anything else. */
  static JsonNode object(JsonNode node, String name) throws MalformedRecord {
    JsonNode v = node == null ? null : node.get(name);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isObject()) {
      throw new MalformedRecord(name + " is not an object");
    }
    return v;
  }

  /** The member as a string; null if absent or JSON null; malformed if anything else. */
  static String text(JsonNode node, String name) throws MalformedRecord {
    JsonNode v = node == null ? null : node.get(name);
    if (v == null || v.isNull()) {
      return null;
    }
    if (!v.isTextual()) {
      throw new MalformedRecord(name + " is not a string");
    }
    return v.asText();
  }

  /** As {@link #text}, for callers outside record parsing: a wrong type reads as absent. */
  static String lenientText(JsonNode node, String name) {
    JsonNode v = node == null ? null : node.get(name);
    return v != null && v.isTextual() ? v.asText() : null;
  }
}
