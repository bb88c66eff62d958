package com.panops.crypto.testkit.internal.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.panops.crypto.testkit.LocalKmsException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Typed access to a request's JSON members with KMS-shaped errors: a member of the wrong JSON type
 * or a bad base64 value is a {@code SerializationException}; a missing required member or a value
 * out of range is a {@code ValidationException}; a member the operation does not have is a {@code
 * ValidationException} too (see {@link #MEMBERS}).
 */
final class Requests {

  /** The only encryption algorithm of a symmetric key, and the default of every request. */
  static final String SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT";

  /** The longest key id or key ARN a request may name. */
  static final int MAX_KEY_ID = 2048;

  private static final Set<String> ALGORITHMS =
      Set.of(SYMMETRIC_DEFAULT, "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE");

  /**
   * The members of each operation's input, as the KMS API model (AWS SDK 2.57) defines them. A
   * request with any other member is refused with a {@code ValidationException}: an unknown member
   * is almost always a client bug (a typo'd field is otherwise silently ignored), and refusing it
   * keeps LocalKms strict. Every member the SDK can send is listed, so SDK clients never hit this.
   */
  static final Map<String, Set<String>> MEMBERS =
      Map.ofEntries(
          Map.entry(
              "CreateKey",
              Set.of(
                  "Policy",
                  "Description",
                  "KeyUsage",
                  "CustomerMasterKeySpec",
                  "KeySpec",
                  "Origin",
                  "CustomKeyStoreId",
                  "BypassPolicyLockoutSafetyCheck",
                  "Tags",
                  "MultiRegion",
                  "XksKeyId")),
          Map.entry("DescribeKey", Set.of("KeyId", "GrantTokens")),
          Map.entry(
              "GenerateDataKey",
              Set.of(
                  "KeyId",
                  "EncryptionContext",
                  "NumberOfBytes",
                  "KeySpec",
                  "GrantTokens",
                  "Recipient",
                  "DryRun")),
          Map.entry(
              "GenerateDataKeyWithoutPlaintext",
              Set.of(
                  "KeyId",
                  "EncryptionContext",
                  "KeySpec",
                  "NumberOfBytes",
                  "GrantTokens",
                  "DryRun")),
          Map.entry(
              "Encrypt",
              Set.of(
                  "KeyId",
                  "Plaintext",
                  "EncryptionContext",
                  "GrantTokens",
                  "EncryptionAlgorithm",
                  "DryRun")),
          Map.entry(
              "Decrypt",
              Set.of(
                  "CiphertextBlob",
                  "EncryptionContext",
                  "GrantTokens",
                  "KeyId",
                  "EncryptionAlgorithm",
                  "Recipient",
                  "DryRun",
                  "DryRunModifiers")),
          Map.entry(
              "ReEncrypt",
              Set.of(
                  "CiphertextBlob",
                  "SourceEncryptionContext",
                  "SourceKeyId",
                  "DestinationKeyId",
                  "DestinationEncryptionContext",
                  "SourceEncryptionAlgorithm",
                  "DestinationEncryptionAlgorithm",
                  "GrantTokens",
                  "DryRun",
                  "DryRunModifiers")),
          Map.entry("EnableKey", Set.of("KeyId")),
          Map.entry("DisableKey", Set.of("KeyId")),
          Map.entry("ScheduleKeyDeletion", Set.of("KeyId", "PendingWindowInDays")),
          Map.entry("CancelKeyDeletion", Set.of("KeyId")),
          Map.entry(
              "PutKeyPolicy",
              Set.of("KeyId", "PolicyName", "Policy", "BypassPolicyLockoutSafetyCheck")),
          Map.entry("GetKeyPolicy", Set.of("KeyId", "PolicyName")),
          Map.entry("ListKeys", Set.of("Limit", "Marker")),
          Map.entry(
              "CreateGrant",
              Set.of(
                  "KeyId",
                  "GranteePrincipal",
                  "RetiringPrincipal",
                  "Operations",
                  "Constraints",
                  "GrantTokens",
                  "Name",
                  "DryRun",
                  "GranteeServicePrincipal",
                  "RetiringServicePrincipal")),
          Map.entry("RevokeGrant", Set.of("KeyId", "GrantId", "DryRun")));

  private final JsonNode node;

  Requests(JsonNode node) {
    this.node = node;
  }

  static boolean isOperation(String name) {
    return MEMBERS.containsKey(name);
  }

  void requireKnownMembers(String operation) {
    Set<String> known = MEMBERS.get(operation);
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!known.contains(name)) {
        throw LocalKmsException.of(
            "ValidationException",
            "1 validation error detected: '"
                + name
                + "' is not a member of the "
                + operation
                + " request");
      }
    }
  }

  private JsonNode present(String name) {
    JsonNode v = node.get(name);
    return v == null || v.isNull() ? null : v;
  }

  static LocalKmsException missing(String name) {
    return LocalKmsException.of(
        "ValidationException",
        "1 validation error detected: Value null at '"
            + lowerFirst(name)
            + "' failed to satisfy constraint: Member must not be null");
  }

  static LocalKmsException wrongType(String name, String type) {
    return LocalKmsException.of(
        "SerializationException", "Member '" + name + "' must be " + type + ".");
  }

  static LocalKmsException lengthConstraint(String name, String constraint) {
    return LocalKmsException.of(
        "ValidationException",
        "1 validation error detected: Value at '"
            + lowerFirst(name)
            + "' failed to satisfy constraint: Member must have "
            + constraint);
  }

  private static String lowerFirst(String s) {
    return Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }

  String string(String name, boolean required, int maxLength) {
    String s = text(name, required, "a string");
    if (s != null) {
      checkLength(name, s.length(), maxLength);
    }
    return s;
  }

  byte[] blob(String name, boolean required, int maxBytes) {
    String text = text(name, required, "a base64-encoded string");
    if (text == null) {
      return null;
    }
    byte[] b;
    try {
      b = Base64.getDecoder().decode(text.getBytes(StandardCharsets.US_ASCII));
    } catch (IllegalArgumentException e) {
      throw wrongType(name, "a base64-encoded string");
    }
    checkLength(name, b.length, maxBytes);
    return b;
  }

  /**
   * The text of member {@code name}, or null if it is absent and not {@code required}; {@code type}
   * names the expected form when it is not text.
   */
  private String text(String name, boolean required, String type) {
    JsonNode v = present(name);
    if (v == null) {
      if (required) {
        throw missing(name);
      }
      return null;
    }
    if (!v.isTextual()) {
      throw wrongType(name, type);
    }
    return v.asText();
  }

  /** Refuses a member of {@code length} outside {@code [1, max]}. */
  private static void checkLength(String name, int length, int max) {
    if (length == 0) {
      throw lengthConstraint(name, "length greater than or equal to 1");
    }
    if (length > max) {
      throw lengthConstraint(name, "length less than or equal to " + max);
    }
  }

  Integer integer(String name, int min, int max) {
    JsonNode v = present(name);
    if (v == null) {
      return null;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw wrongType(name, "an integer");
    }
    int i = v.intValue();
    if (i < min) {
      throw valueConstraint(name, i, "greater than or equal to " + min);
    }
    if (i > max) {
      throw valueConstraint(name, i, "less than or equal to " + max);
    }
    return i;
  }

  private static LocalKmsException valueConstraint(String name, int value, String constraint) {
    return LocalKmsException.of(
        "ValidationException",
        "1 validation error detected: Value '"
            + value
            + "' at '"
            + lowerFirst(name)
            + "' failed to satisfy constraint: Member must have value "
            + constraint);
  }

  boolean bool(String name) {
    JsonNode v = present(name);
    if (v == null) {
      return false;
    }
    if (!v.isBoolean()) {
      throw wrongType(name, "a boolean");
    }
    return v.booleanValue();
  }

  Map<String, String> context(String name) {
    JsonNode v = present(name);
    Map<String, String> out = new TreeMap<>();
    if (v == null) {
      return out;
    }
    if (!v.isObject()) {
      throw wrongType(name, "a map of strings");
    }
    int total = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw wrongType(name, "a map of strings");
      }
      out.put(e.getKey(), e.getValue().asText());
      total +=
          e.getKey().getBytes(StandardCharsets.UTF_8).length
              + e.getValue().asText().getBytes(StandardCharsets.UTF_8).length;
    }
    if (total > 8192) {
      throw LocalKmsException.of(
          "ValidationException", "The encryption context exceeds the maximum size of 8192 bytes.");
    }
    return out;
  }

  List<String> stringList(String name) {
    JsonNode v = present(name);
    List<String> out = new ArrayList<>();
    if (v == null) {
      return out;
    }
    if (!v.isArray()) {
      throw wrongType(name, "a list of strings");
    }
    for (JsonNode n : v) {
      if (!n.isTextual()) {
        throw wrongType(name, "a list of strings");
      }
      out.add(n.asText());
    }
    return out;
  }

  /**
   * Checks that an optional member, if present, is of a JSON type (list or object); returns it, or
   * null if absent.
   */
  JsonNode shape(String name, boolean array) {
    JsonNode v = present(name);
    if (v != null && (array ? !v.isArray() : !v.isObject())) {
      throw wrongType(name, array ? "a list" : "a structure");
    }
    return v;
  }

  /**
   * The encryption algorithm member {@code name}: {@value #SYMMETRIC_DEFAULT} if absent; a value
   * KMS does not know is a {@code ValidationException}, an asymmetric one an {@code
   * InvalidKeyUsageException} (LocalKms's keys are symmetric).
   */
  String algorithm(String name) {
    String alg = string(name, false, 64);
    if (alg == null) {
      return SYMMETRIC_DEFAULT;
    }
    if (!ALGORITHMS.contains(alg)) {
      throw LocalKmsException.of(
          "ValidationException",
          "1 validation error detected: Value '"
              + alg
              + "' at '"
              + lowerFirst(name)
              + "' failed to satisfy constraint: Member must satisfy enum value set: "
              + ALGORITHMS);
    }
    if (!alg.equals(SYMMETRIC_DEFAULT)) {
      throw LocalKmsException.of(
          "InvalidKeyUsageException",
          "The encryption algorithm " + alg + " is not compatible with a symmetric key.");
    }
    return alg;
  }

  /**
   * With {@code DryRun} set, ends the request with {@code DryRunOperationException} (HTTP 412):
   * every check before this call passed, and nothing is done.
   */
  void stopIfDryRun() {
    if (bool("DryRun")) {
      throw new LocalKmsException(
          "DryRunOperationException",
          412,
          "The request would have succeeded, but the DryRun option is set.");
    }
  }
}
