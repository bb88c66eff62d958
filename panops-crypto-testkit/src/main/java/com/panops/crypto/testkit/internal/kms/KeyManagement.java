package com.panops.crypto.testkit.internal.kms;

import static com.panops.crypto.testkit.internal.kms.KeyAccess.requireAccountPrincipal;
import static com.panops.crypto.testkit.internal.kms.KeyAccess.requireAllowed;
import static com.panops.crypto.testkit.internal.kms.KeyAccess.requireNotPendingDeletion;
import static com.panops.crypto.testkit.internal.kms.KmsEngine.MAPPER;
import static com.panops.crypto.testkit.internal.kms.Requests.SYMMETRIC_DEFAULT;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.testkit.LocalKmsException;
import com.panops.crypto.testkit.Principal;
import java.math.BigDecimal;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * The key-management operations and key metadata: CreateKey, DescribeKey, EnableKey, DisableKey,
 * ScheduleKeyDeletion, CancelKeyDeletion, PutKeyPolicy, GetKeyPolicy and ListKeys. Changes of state
 * or policy are announced to propagation first; they always act on the key's latest state, and only
 * DescribeKey sees the key through propagation. CancelKeyDeletion leaves the key Disabled, as KMS
 * does; PutKeyPolicy and CreateKey apply KMS's lockout safety check.
 */
record KeyManagement(KeyStore keys, SecureRandom random) {

  private static final int MAX_POLICY = 131072;

  ObjectNode createKey(Principal caller, Requests r, CallRecord rec) {
    requireAccountPrincipal(caller, keys.accountId(), "kms:CreateKey");
    String description = r.string("Description", false, 8192);
    requireSupportedKeyKind(r);
    String policyText = r.string("Policy", false, MAX_POLICY);
    if (policyText == null) {
      policyText = defaultPolicy();
    }
    KeyPolicy policy = parsePolicy(policyText);
    lockoutCheck(caller, policy, r);
    UUID id = UUID.randomUUID();
    byte[] material = new byte[32];
    random.nextBytes(material);
    KeyRecord k = new KeyRecord(id, keys.keyArn(id.toString()), material, description, keys.now());
    k.policyText = policyText;
    k.policy = policy;
    keys.propagation().created(k);
    keys.add(k);
    rec.keyArn = k.arn;
    ObjectNode out = MAPPER.createObjectNode();
    out.set("KeyMetadata", metadata(k, k.current()));
    return out;
  }

  private static void requireSupportedKeyKind(Requests r) {
    String usage = r.string("KeyUsage", false, 64);
    String spec = r.string("KeySpec", false, 64);
    String cmkSpec = r.string("CustomerMasterKeySpec", false, 64);
    String origin = r.string("Origin", false, 64);
    r.shape("Tags", true);
    if ((usage != null && !usage.equals("ENCRYPT_DECRYPT"))
        || (spec != null && !spec.equals(SYMMETRIC_DEFAULT))
        || (cmkSpec != null && !cmkSpec.equals(SYMMETRIC_DEFAULT))
        || (origin != null && !origin.equals("AWS_KMS"))
        || r.bool("MultiRegion")
        || r.string("CustomKeyStoreId", false, 64) != null
        || r.string("XksKeyId", false, 128) != null) {
      throw LocalKmsException.of(
          "UnsupportedOperationException",
          "LocalKms supports only single-Region symmetric ENCRYPT_DECRYPT keys of origin AWS_KMS.");
    }
  }

  /** KMS's default key policy: the key account's IAM decides, which here is any principal of it. */
  private String defaultPolicy() {
    ObjectNode p = MAPPER.createObjectNode();
    p.put("Version", "2012-10-17");
    p.put("Id", "key-default-1");
    ArrayNode statements = p.putArray("Statement");
    ObjectNode s = statements.addObject();
    s.put("Sid", "Enable IAM User Permissions");
    s.put("Effect", "Allow");
    s.putObject("Principal").put("AWS", "arn:aws:iam::" + keys.accountId() + ":root");
    s.put("Action", "kms:*");
    s.put("Resource", "*");
    return p.toPrettyString();
  }

  private static KeyPolicy parsePolicy(String text) {
    try {
      return KeyPolicy.parse(text);
    } catch (IllegalArgumentException e) {
      throw LocalKmsException.of("MalformedPolicyDocumentException", e.getMessage());
    }
  }

  private static void lockoutCheck(Principal caller, KeyPolicy policy, Requests r) {
    if (!r.bool("BypassPolicyLockoutSafetyCheck")
        && !policy.allows(caller.arn(), "kms:PutKeyPolicy")) {
      throw LocalKmsException.of(
          "MalformedPolicyDocumentException",
          "The new key policy will not allow you to update the key policy in the future.");
    }
  }

  private ObjectNode metadata(KeyRecord k, KeyView v) {
    ObjectNode m = MAPPER.createObjectNode();
    m.put("AWSAccountId", keys.accountId());
    m.put("KeyId", k.id.toString());
    m.put("Arn", k.arn);
    m.put("CreationDate", epochSeconds(k.created));
    m.put("Enabled", v.state() == KeyState.Enabled);
    m.put("Description", k.description == null ? "" : k.description);
    m.put("KeyUsage", "ENCRYPT_DECRYPT");
    m.put("KeyState", v.state().name());
    if (v.deletionDate() != null) {
      m.put("DeletionDate", epochSeconds(v.deletionDate()));
    }
    m.put("Origin", "AWS_KMS");
    m.put("KeyManager", "CUSTOMER");
    m.put("CustomerMasterKeySpec", SYMMETRIC_DEFAULT);
    m.put("KeySpec", SYMMETRIC_DEFAULT);
    m.putArray("EncryptionAlgorithms").add(SYMMETRIC_DEFAULT);
    m.put("MultiRegion", false);
    return m;
  }

  private static BigDecimal epochSeconds(Instant t) {
    return BigDecimal.valueOf(t.toEpochMilli(), 3);
  }

  ObjectNode describeKey(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = keys.named(r, "KeyId", rec);
    r.stringList("GrantTokens");
    KeyView v = keys.seen(k);
    requireAllowed(caller, k, v, "kms:DescribeKey");
    ObjectNode out = MAPPER.createObjectNode();
    out.set("KeyMetadata", metadata(k, v));
    return out;
  }

  ObjectNode setEnabled(Principal caller, Requests r, CallRecord rec, boolean enabled) {
    KeyRecord k = keys.named(r, "KeyId", rec);
    requireAllowed(caller, k, enabled ? "kms:EnableKey" : "kms:DisableKey");
    requireNotPendingDeletion(k);
    keys.superseding(k);
    k.state = enabled ? KeyState.Enabled : KeyState.Disabled;
    return MAPPER.createObjectNode();
  }

  ObjectNode scheduleKeyDeletion(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = keys.named(r, "KeyId", rec);
    Integer days = r.integer("PendingWindowInDays", 7, 30);
    requireAllowed(caller, k, "kms:ScheduleKeyDeletion");
    requireNotPendingDeletion(k);
    int window = days == null ? 30 : days;
    keys.superseding(k);
    k.state = KeyState.PendingDeletion;
    k.deletionDate = keys.now().plus(Duration.ofDays(window));
    ObjectNode out = MAPPER.createObjectNode();
    out.put("KeyId", k.arn);
    out.put("DeletionDate", epochSeconds(k.deletionDate));
    out.put("KeyState", k.state.name());
    out.put("PendingWindowInDays", window);
    return out;
  }

  ObjectNode cancelKeyDeletion(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = keys.named(r, "KeyId", rec);
    requireAllowed(caller, k, "kms:CancelKeyDeletion");
    if (k.state != KeyState.PendingDeletion) {
      throw LocalKmsException.of("KMSInvalidStateException", k.arn + " is not pending deletion.");
    }
    keys.superseding(k);
    k.state = KeyState.Disabled;
    k.deletionDate = null;
    ObjectNode out = MAPPER.createObjectNode();
    out.put("KeyId", k.arn);
    return out;
  }

  private static void policyName(Requests r) {
    String name = r.string("PolicyName", false, 128);
    if (name != null && !name.equals("default")) {
      throw LocalKmsException.of(
          "ValidationException", "The only valid PolicyName is \"default\".");
    }
  }

  ObjectNode putKeyPolicy(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = keys.named(r, "KeyId", rec);
    policyName(r);
    String text = r.string("Policy", true, MAX_POLICY);
    requireAllowed(caller, k, "kms:PutKeyPolicy");
    KeyPolicy policy = parsePolicy(text);
    lockoutCheck(caller, policy, r);
    keys.superseding(k);
    k.policyText = text;
    k.policy = policy;
    return MAPPER.createObjectNode();
  }

  ObjectNode getKeyPolicy(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = keys.named(r, "KeyId", rec);
    policyName(r);
    requireAllowed(caller, k, "kms:GetKeyPolicy");
    ObjectNode out = MAPPER.createObjectNode();
    out.put("Policy", k.policyText);
    out.put("PolicyName", "default");
    return out;
  }

  ObjectNode listKeys(Principal caller, Requests r) {
    requireAccountPrincipal(caller, keys.accountId(), "kms:ListKeys");
    Integer limit = r.integer("Limit", 1, 1000);
    String marker = r.string("Marker", false, 1024);
    int start = 0;
    List<KeyRecord> all = keys.all();
    if (marker != null) {
      try {
        start = Integer.parseInt(marker);
      } catch (NumberFormatException e) {
        start = -1;
      }
      if (start < 0 || start > all.size()) {
        throw LocalKmsException.of("InvalidMarkerException", "The marker is not valid.");
      }
    }
    int end = Math.min(all.size(), start + (limit == null ? 100 : limit));
    ObjectNode out = MAPPER.createObjectNode();
    ArrayNode list = out.putArray("Keys");
    for (KeyRecord k : all.subList(start, end)) {
      list.addObject().put("KeyId", k.id.toString()).put("KeyArn", k.arn);
    }
    boolean truncated = end < all.size();
    out.put("Truncated", truncated);
    if (truncated) {
      out.put("NextMarker", Integer.toString(end));
    }
    return out;
  }
}
