package com.panops.crypto.testkit.internal.kms;

import static com.panops.crypto.testkit.internal.kms.KmsEngine.MAPPER;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.testkit.TrailEvent;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * One CloudTrail record of a KMS event, with the fields and shapes of AWS's documented KMS examples
 * (eventVersion 1.11): built from what the engine knows of the call (its {@link TrailEvent}, its
 * {@link CallRecord}, the caller and the response), never from secrets (no plaintext, ciphertext,
 * grant token or secret key).
 */
final class CloudTrailRecord {

  /** The caller as CloudTrail sees it: its principal ARN and access key id (null if unknown). */
  record Caller(String arn, String accessKeyId) {}

  /** The operations CloudTrail marks {@code readOnly}. */
  private static final Set<String> READ_ONLY =
      Set.of(
          "Encrypt",
          "Decrypt",
          "ReEncrypt",
          "GenerateDataKey",
          "GenerateDataKeyWithoutPlaintext",
          "DescribeKey",
          "GetKeyPolicy",
          "ListKeys");

  /** The request members CloudTrail records per operation, in its lower-camel names. */
  private static final Map<String, List<String>> PARAMETERS =
      Map.ofEntries(
          Map.entry("Encrypt", List.of("KeyId", "EncryptionContext", "EncryptionAlgorithm")),
          Map.entry("Decrypt", List.of("KeyId", "EncryptionContext", "EncryptionAlgorithm")),
          Map.entry(
              "GenerateDataKey", List.of("KeyId", "KeySpec", "NumberOfBytes", "EncryptionContext")),
          Map.entry(
              "GenerateDataKeyWithoutPlaintext",
              List.of("KeyId", "KeySpec", "NumberOfBytes", "EncryptionContext")),
          Map.entry(
              "ReEncrypt",
              List.of(
                  "SourceKeyId",
                  "DestinationKeyId",
                  "SourceEncryptionContext",
                  "DestinationEncryptionContext",
                  "SourceEncryptionAlgorithm",
                  "DestinationEncryptionAlgorithm")),
          Map.entry("DisableKey", List.of("KeyId")),
          Map.entry("EnableKey", List.of("KeyId")),
          Map.entry("CancelKeyDeletion", List.of("KeyId")),
          Map.entry("DescribeKey", List.of("KeyId")),
          Map.entry("GetKeyPolicy", List.of("KeyId", "PolicyName")),
          Map.entry("ScheduleKeyDeletion", List.of("KeyId", "PendingWindowInDays")),
          Map.entry(
              "PutKeyPolicy",
              List.of("KeyId", "PolicyName", "Policy", "BypassPolicyLockoutSafetyCheck")),
          Map.entry(
              "CreateGrant",
              List.of("KeyId", "GranteePrincipal", "RetiringPrincipal", "Operations", "Name")),
          Map.entry("RevokeGrant", List.of("KeyId", "GrantId")),
          Map.entry("RetireGrant", List.of("KeyId", "GrantId")),
          Map.entry(
              "CreateKey",
              List.of(
                  "Description",
                  "KeyUsage",
                  "KeySpec",
                  "Origin",
                  "MultiRegion",
                  "Policy",
                  "BypassPolicyLockoutSafetyCheck")),
          Map.entry("ListKeys", List.of("Limit", "Marker")));

  /** How CloudTrail writes dates inside KMS response elements, e.g. "Apr 12, 2021 18:58:30 PM". */
  static final DateTimeFormatter RESPONSE_DATE =
      DateTimeFormatter.ofPattern("MMM d, yyyy HH:mm:ss a", Locale.US).withZone(ZoneOffset.UTC);

  private CloudTrailRecord() {}

  /**
   * The {@code requestParameters} of a request: the members CloudTrail records for its operation
   * (strings, numbers, booleans, string lists and string maps as sent), with KMS's defaults where
   * CloudTrail always shows one (the encryption algorithm; the key a ciphertext names for Decrypt
   * and ReEncrypt without a key id; the deletion window; the lockout check); null for an operation
   * with no parameters or an unknown one.
   */
  static ObjectNode requestParameters(String operation, JsonNode request, CallRecord rec) {
    List<String> members = operation == null ? null : PARAMETERS.get(operation);
    if (members == null) {
      return null;
    }
    ObjectNode p = MAPPER.createObjectNode();
    for (String m : members) {
      JsonNode v = request == null ? null : request.get(m);
      if (v != null && (v.isValueNode() || v.isArray() || v.isObject()) && !v.isNull()) {
        p.set(lowerFirst(m), v.deepCopy());
      }
    }
    defaults(operation, p, rec);
    return p.isEmpty() ? null : p;
  }

  private static void defaults(String operation, ObjectNode p, CallRecord rec) {
    switch (operation) {
      case "Encrypt", "Decrypt" -> {
        p.putIfAbsent("encryptionAlgorithm", p.textNode(Requests.SYMMETRIC_DEFAULT));
        if (rec.keyArn != null) {
          p.putIfAbsent("keyId", p.textNode(rec.keyArn));
        }
      }
      case "ReEncrypt" -> {
        p.putIfAbsent("sourceEncryptionAlgorithm", p.textNode(Requests.SYMMETRIC_DEFAULT));
        p.putIfAbsent("destinationEncryptionAlgorithm", p.textNode(Requests.SYMMETRIC_DEFAULT));
        if (rec.keyArn != null) {
          p.putIfAbsent("sourceKeyId", p.textNode(rec.keyArn));
        }
      }
      case "ScheduleKeyDeletion" -> p.putIfAbsent("pendingWindowInDays", p.numberNode(30));
      case "PutKeyPolicy", "CreateKey" ->
          p.putIfAbsent("bypassPolicyLockoutSafetyCheck", p.booleanNode(false));
      default -> {}
    }
  }

  /**
   * The {@code responseElements} CloudTrail records for a successful call (ScheduleKeyDeletion:
   * keyId, keyState, deletionDate, pendingWindowInDays; CancelKeyDeletion: keyId; CreateGrant:
   * grantId; CreateKey: keyMetadata); null for the others, and for refusals.
   */
  static ObjectNode responseElements(String operation, ObjectNode response) {
    if (response == null || operation == null) {
      return null;
    }
    ObjectNode out = MAPPER.createObjectNode();
    switch (operation) {
      case "ScheduleKeyDeletion" -> {
        out.set("keyId", response.get("KeyId"));
        out.set("keyState", response.get("KeyState"));
        out.put("deletionDate", responseDate(response.get("DeletionDate")));
        out.set("pendingWindowInDays", response.get("PendingWindowInDays"));
      }
      case "CancelKeyDeletion" -> out.set("keyId", response.get("KeyId"));
      case "CreateGrant" -> out.set("grantId", response.get("GrantId"));
      case "CreateKey" -> {
        ObjectNode meta = out.putObject("keyMetadata");
        response
            .get("KeyMetadata")
            .fields()
            .forEachRemaining(
                f ->
                    meta.set(
                        lowerFirst(f.getKey()),
                        f.getKey().endsWith("Date")
                            ? meta.textNode(responseDate(f.getValue()))
                            : f.getValue()));
      }
      default -> {
        return null;
      }
    }
    return out;
  }

  private static String responseDate(JsonNode epochSeconds) {
    BigDecimal s = epochSeconds.decimalValue();
    return RESPONSE_DATE.format(Instant.ofEpochMilli(s.movePointRight(3).longValue()));
  }

  /** The record of an API call, allowed or refused. */
  static ObjectNode apiCall(
      TrailEvent e, CallRecord rec, Caller caller, String region, String accountId) {
    ObjectNode r = MAPPER.createObjectNode();
    r.put("eventVersion", "1.11");
    userIdentity(r.putObject("userIdentity"), caller);
    r.put("eventTime", eventTime(e.eventTime()));
    r.put("eventSource", "kms.amazonaws.com");
    r.put("eventName", e.eventName());
    r.put("awsRegion", region);
    r.put("sourceIPAddress", "127.0.0.1");
    r.put("userAgent", e.userAgent());
    if (e.errorCode() != null) {
      r.put("errorCode", e.errorCode());
      r.put("errorMessage", rec.errorMessage);
    }
    r.set("requestParameters", rec.requestParameters);
    r.set("responseElements", e.errorCode() == null ? rec.responseElements : null);
    r.put("requestID", e.requestId());
    r.put("eventID", UUID.randomUUID().toString());
    r.put("readOnly", e.eventName() != null && READ_ONLY.contains(e.eventName()));
    resources(r, rec.keyArn, rec.destinationKeyArn);
    r.put("eventType", "AwsApiCall");
    r.put("managementEvent", true);
    r.put("recipientAccountId", accountId);
    r.put("eventCategory", "Management");
    return r;
  }

  /**
   * The record KMS writes when it deletes a key at the end of its waiting period: an {@code
   * AwsServiceEvent} by "AWS Internal", at the deletion date.
   */
  static ObjectNode deleteKey(String keyArn, Instant deletionDate, String region, String account) {
    ObjectNode r = MAPPER.createObjectNode();
    r.put("eventVersion", "1.11");
    ObjectNode who = r.putObject("userIdentity");
    who.put("accountId", account);
    who.put("invokedBy", "AWS Internal");
    r.put("eventTime", eventTime(deletionDate));
    r.put("eventSource", "kms.amazonaws.com");
    r.put("eventName", "DeleteKey");
    r.put("awsRegion", region);
    r.put("sourceIPAddress", "AWS Internal");
    r.put("userAgent", "AWS Internal");
    r.putNull("requestParameters");
    r.putObject("responseElements").put("keyId", keyArn);
    r.put("eventID", UUID.randomUUID().toString());
    r.put("readOnly", false);
    resources(r, keyArn, null);
    r.put("eventType", "AwsServiceEvent");
    r.put("managementEvent", true);
    r.put("recipientAccountId", account);
    r.put("eventCategory", "Management");
    return r;
  }

  /** CloudTrail's event time: UTC, whole seconds ({@code 2026-12-08T01:02:03Z}). */
  static String eventTime(Instant t) {
    return t.truncatedTo(ChronoUnit.SECONDS).toString();
  }

  private static void resources(ObjectNode r, String keyArn, String otherKeyArn) {
    if (keyArn == null && otherKeyArn == null) {
      return;
    }
    ArrayNode list = r.putArray("resources");
    if (keyArn != null) {
      resource(list, keyArn);
    }
    if (otherKeyArn != null && !otherKeyArn.equals(keyArn)) {
      resource(list, otherKeyArn);
    }
  }

  private static void resource(ArrayNode list, String arn) {
    ObjectNode res = list.addObject();
    res.put("accountId", KeyPolicy.accountOf(arn));
    res.put("type", "AWS::KMS::Key");
    res.put("ARN", arn);
  }

  private static void userIdentity(ObjectNode who, Caller caller) {
    String arn = caller.arn();
    String role = arn == null ? null : KeyPolicy.roleOf(arn);
    String account = arn == null ? null : KeyPolicy.accountOf(arn);
    who.put("type", role != null ? "AssumedRole" : "IAMUser");
    if (arn != null) {
      String session = arn.substring(arn.lastIndexOf('/') + 1);
      who.put(
          "principalId",
          role != null ? principalId("AROA", role) + ":" + session : principalId("AIDA", arn));
    }
    who.put("arn", arn);
    who.put("accountId", account);
    who.put("accessKeyId", caller.accessKeyId());
    if (role == null && arn != null && arn.contains(":user/")) {
      who.put("userName", arn.substring(arn.lastIndexOf('/') + 1));
    }
    if (role != null) {
      ObjectNode context = who.putObject("sessionContext");
      ObjectNode issuer = context.putObject("sessionIssuer");
      issuer.put("type", "Role");
      issuer.put("principalId", principalId("AROA", role));
      issuer.put("arn", role);
      issuer.put("accountId", KeyPolicy.accountOf(role));
      issuer.put("userName", role.substring(role.lastIndexOf('/') + 1));
      context.putObject("attributes").put("mfaAuthenticated", "false");
    }
  }

  /** A stable IAM-style unique id for an ARN: the prefix and 17 characters derived from it. */
  static String principalId(String prefix, String arn) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(arn.getBytes(StandardCharsets.UTF_8));
      String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
      StringBuilder b = new StringBuilder(prefix);
      for (int i = 0; i < 17; i++) {
        b.append(alphabet.charAt((h[i] & 0xff) % 32));
      }
      return b.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String lowerFirst(String s) {
    return Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }
}
