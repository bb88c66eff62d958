package com.panops.crypto.testkit.internal.kms;

import static com.panops.crypto.testkit.internal.kms.KmsEngine.MAPPER;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.testkit.LocalKmsException;
import com.panops.crypto.testkit.Principal;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * CreateGrant and RevokeGrant, both policy-checked. A grant or its revocation takes effect at once
 * (grants do not propagate); grant constraints are refused rather than ignored, since ignoring one
 * would grant too much.
 */
record GrantOperations(KeyStore keys, SecureRandom random) {

  private static final Set<String> GRANT_OPERATIONS =
      Set.of(
          "Decrypt",
          "Encrypt",
          "GenerateDataKey",
          "GenerateDataKeyWithoutPlaintext",
          "ReEncryptFrom",
          "ReEncryptTo",
          "Sign",
          "Verify",
          "GetPublicKey",
          "CreateGrant",
          "RetireGrant",
          "DescribeKey",
          "GenerateDataKeyPair",
          "GenerateDataKeyPairWithoutPlaintext",
          "GenerateMac",
          "VerifyMac",
          "DeriveSharedSecret");

  ObjectNode createGrant(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = keys.named(r, "KeyId", rec);
    String grantee = r.string("GranteePrincipal", true, 256);
    r.string("RetiringPrincipal", false, 256);
    r.string("Name", false, 256);
    if (r.shape("Constraints", false) != null) {
      throw LocalKmsException.of(
          "UnsupportedOperationException", "LocalKms does not support grant constraints.");
    }
    r.stringList("GrantTokens");
    List<String> operations = grantOperations(r);
    KeyAccess.requireAllowed(caller, k, "kms:CreateGrant");
    KeyAccess.requireNotPendingDeletion(k);
    r.stopIfDryRun();
    byte[] id = new byte[32];
    random.nextBytes(id);
    byte[] token = new byte[48];
    random.nextBytes(token);
    String grantId = HexFormat.of().formatHex(id);
    k.grants.add(new Grant(grantId, grantee, Set.copyOf(operations)));
    ObjectNode out = MAPPER.createObjectNode();
    out.put("GrantId", grantId);
    out.put("GrantToken", Base64.getUrlEncoder().withoutPadding().encodeToString(token));
    return out;
  }

  private static List<String> grantOperations(Requests r) {
    List<String> operations = r.stringList("Operations");
    if (operations.isEmpty()) {
      throw Requests.missing("Operations");
    }
    for (String op : operations) {
      if (!GRANT_OPERATIONS.contains(op)) {
        throw LocalKmsException.of(
            "ValidationException",
            "1 validation error detected: Value '"
                + op
                + "' at 'operations' failed to satisfy constraint: Member must satisfy enum value"
                + " set");
      }
    }
    return operations;
  }

  ObjectNode revokeGrant(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = keys.named(r, "KeyId", rec);
    String grantId = r.string("GrantId", true, 128);
    KeyAccess.requireAllowed(caller, k, "kms:RevokeGrant");
    r.stopIfDryRun();
    if (!k.grants.removeIf(g -> g.id().equals(grantId))) {
      throw LocalKmsException.of("InvalidGrantIdException", "Grant " + grantId + " is not valid.");
    }
    return MAPPER.createObjectNode();
  }
}
