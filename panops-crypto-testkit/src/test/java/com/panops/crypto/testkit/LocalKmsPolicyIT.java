package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.JSON;
import static com.panops.crypto.testkit.KmsTestSupport.bytes;
import static com.panops.crypto.testkit.KmsTestSupport.client;
import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
import static com.panops.crypto.testkit.KmsTestSupport.policyAllowingOnly;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.CreateGrantResponse;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.GrantOperation;
import software.amazon.awssdk.services.kms.model.KeyState;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.MalformedPolicyDocumentException;

class LocalKmsPolicyIT extends LocalKmsWithClients.PerClass {

  private static KmsException accessDenied(Executable call) {
    KmsException e = assertThrows(KmsException.class, call);
    assertEquals("AccessDeniedException", errorCode(e), e.getMessage());
    assertEquals(400, e.statusCode());
    return e;
  }

  private CreateGrantResponse grantTheVendorRoleDecrypt(String key) {
    return admin.createGrant(
        r ->
            r.keyId(key)
                .granteePrincipal(LocalKms.VENDOR_ROLE_ARN)
                .operations(GrantOperation.DECRYPT));
  }

  @Test
  void theSeedPolicyIsTheSeedsPanOpsServiceAccessStatementPlusTheCustomersAdmin() throws Exception {
    JsonNode policy = JSON.readTree(kms.seedKeyPolicy());
    JsonNode vendorStatement = null;
    for (JsonNode s : policy.get("Statement")) {
      if (s.path("Sid").asText().equals("PanOpsServiceAccess")) {
        vendorStatement = s;
      }
    }
    assertNotNull(vendorStatement);
    assertEquals("Allow", vendorStatement.get("Effect").asText());
    assertEquals(
        "arn:aws:iam::999988887777:role/PanOpsServiceRole",
        vendorStatement.get("Principal").get("AWS").asText());
    assertEquals(
        List.of(
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey",
            "kms:DescribeKey"),
        JSON.convertValue(vendorStatement.get("Action"), List.class));
    assertEquals(
        "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/panops-worker",
        kms.vendor().arn());
    assertEquals("arn:aws:iam::999988887777:role/PanOpsServiceRole", kms.vendor().roleArn());
    assertEquals("arn:aws:sts::111122223333:assumed-role/KeyAdmin/key-admin", kms.admin().arn());
    assertEquals("arn:aws:iam::111122223333:role/KeyAdmin", kms.admin().roleArn());
  }

  @Test
  void theSeedPolicyLetsTheVendorCallItsFiveOperations() {
    String key = kms.createKey("five");
    String other = kms.createKey("other");
    EncryptResponse enc = vendor.encrypt(r -> r.keyId(key).plaintext(bytes("x")));
    assertEquals(
        "x",
        vendor.decrypt(r -> r.ciphertextBlob(enc.ciphertextBlob())).plaintext().asUtf8String());
    GenerateDataKeyResponse gdk =
        vendor.generateDataKey(r -> r.keyId(key).keySpec(DataKeySpec.AES_256));
    assertEquals(
        other,
        vendor
            .reEncrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob()).destinationKeyId(other))
            .keyId());
    assertEquals(KeyState.ENABLED, vendor.describeKey(r -> r.keyId(key)).keyMetadata().keyState());
  }

  @Test
  void theSeedPolicyRefusesTheVendorDisableKeyScheduleKeyDeletionPutKeyPolicyAndCreateGrant() {
    String key = kms.createKey("admin ops");
    accessDenied(() -> vendor.disableKey(r -> r.keyId(key)));
    accessDenied(() -> vendor.scheduleKeyDeletion(r -> r.keyId(key).pendingWindowInDays(7)));
    accessDenied(() -> vendor.putKeyPolicy(r -> r.keyId(key).policy(kms.seedKeyPolicy())));
    accessDenied(
        () ->
            vendor.createGrant(
                r ->
                    r.keyId(key)
                        .granteePrincipal(kms.vendor().arn())
                        .operations(GrantOperation.DECRYPT)));
    accessDenied(() -> vendor.enableKey(r -> r.keyId(key)));
    accessDenied(() -> vendor.getKeyPolicy(r -> r.keyId(key)));
    accessDenied(() -> vendor.generateDataKeyWithoutPlaintext(r -> r.keyId(key).numberOfBytes(32)));
    assertEquals(KeyState.ENABLED, admin.describeKey(r -> r.keyId(key)).keyMetadata().keyState());
  }

  @Test
  void theAdminMayDoWhatTheVendorMayNot() {
    String key = kms.createKey("admin may");
    CreateGrantResponse grant =
        admin.createGrant(
            r ->
                r.keyId(key)
                    .granteePrincipal(kms.vendor().arn())
                    .operations(GrantOperation.DECRYPT));
    assertEquals(64, grant.grantId().length());
    assertFalse(grant.grantToken().isEmpty());
    admin.putKeyPolicy(r -> r.keyId(key).policyName("default").policy(kms.seedKeyPolicy()));
    admin.disableKey(r -> r.keyId(key));
    admin.enableKey(r -> r.keyId(key));
    admin.scheduleKeyDeletion(r -> r.keyId(key).pendingWindowInDays(7));
    assertEquals(
        KeyState.PENDING_DELETION, admin.describeKey(r -> r.keyId(key)).keyMetadata().keyState());
  }

  @Test
  void accessDeniedNamesTheCallerTheActionAndTheKeyAsAwsDoes() {
    String key = kms.createKey("message");
    KmsException e = accessDenied(() -> vendor.disableKey(r -> r.keyId(key)));
    assertTrue(
        e.awsErrorDetails()
            .errorMessage()
            .equals(
                "User: arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/panops-worker is"
                    + " not authorized to perform: kms:DisableKey on resource: "
                    + key
                    + " because no resource-based policy allows the kms:DisableKey action"),
        e.awsErrorDetails().errorMessage());
  }

  @Test
  void theVendorMayNotCreateOrListKeysInTheCustomersAccount() {
    accessDenied(() -> vendor.createKey(r -> r.description("vendor's own")));
    accessDenied(() -> vendor.listKeys());
    assertNotNull(admin.listKeys().keys());
  }

  @Test
  void removingTheVendorFromThePolicyRefusesItsDecryptAndRestoringItAllowsAgain() throws Exception {
    String key = kms.createKey("remove vendor");
    GenerateDataKeyResponse gdk =
        vendor.generateDataKey(r -> r.keyId(key).keySpec(DataKeySpec.AES_256));
    String seed = admin.getKeyPolicy(r -> r.keyId(key).policyName("default")).policy();
    assertEquals(kms.seedKeyPolicy(), seed);
    String adminOnly = policyAllowingOnly(kms.admin().arn());
    kms.putKeyPolicy(key, adminOnly);
    assertEquals(adminOnly, admin.getKeyPolicy(r -> r.keyId(key)).policy());
    accessDenied(() -> vendor.decrypt(r -> r.keyId(key).ciphertextBlob(gdk.ciphertextBlob())));
    admin.putKeyPolicy(r -> r.keyId(key).policy(seed));
    assertEquals(
        32,
        vendor
            .decrypt(r -> r.keyId(key).ciphertextBlob(gdk.ciphertextBlob()))
            .plaintext()
            .asByteArray()
            .length);
  }

  @Test
  void anExplicitDenyWinsOverAnAllow() {
    String key = kms.createKey("deny wins");
    String policy =
        "{\"Statement\":["
            + "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
            + kms.admin().arn()
            + "\"},\"Action\":\"kms:*\"},"
            + "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[\"kms:Decrypt\",\"kms:GenerateDataKey\"]},"
            + "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":[\""
            + kms.vendor().arn()
            + "\"]},\"Action\":\"kms:decrypt\"}]}";
    kms.putKeyPolicy(key, policy);
    GenerateDataKeyResponse gdk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    KmsException e =
        accessDenied(() -> vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob())));
    assertTrue(e.awsErrorDetails().errorMessage().contains("explicit deny"));
  }

  @Test
  void aPolicyThatWouldLockTheCallerOutIsRefusedUnlessTheSafetyCheckIsBypassed() {
    String key = kms.createKey("lockout");
    String vendorOnly =
        "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
            + kms.vendor().arn()
            + "\"},\"Action\":\"kms:Decrypt\"}}";
    assertThrows(
        MalformedPolicyDocumentException.class,
        () -> admin.putKeyPolicy(r -> r.keyId(key).policy(vendorOnly)));
    admin.putKeyPolicy(r -> r.keyId(key).policy(vendorOnly).bypassPolicyLockoutSafetyCheck(true));
    accessDenied(() -> admin.describeKey(r -> r.keyId(key)));
  }

  @Test
  void malformedOrUnsupportedPoliciesAreRefused() {
    String key = kms.createKey("malformed");
    for (String bad :
        List.of(
            "not json",
            "{}",
            "{\"Statement\":[]}",
            "{\"Statement\":{\"Effect\":\"Maybe\",\"Principal\":\"*\",\"Action\":\"kms:*\"}}",
            "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kms:*\"}}",
            "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\","
                + "\"Condition\":{\"StringEquals\":{\"aws:SourceIp\":\"127.0.0.1\"}}}}",
            "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\","
                + "\"Condition\":{\"DateLessThan\":{\"kms:CallerAccount\":\"1\"}}}}")) {
      assertThrows(
          MalformedPolicyDocumentException.class,
          () -> admin.putKeyPolicy(r -> r.keyId(key).policy(bad)),
          bad);
    }
    assertEquals(kms.seedKeyPolicy(), admin.getKeyPolicy(r -> r.keyId(key)).policy());
  }

  @Test
  void anotherPrincipalOfTheCustomerAccountIsRefusedByTheSeedPolicyButMayCreateItsOwnKey() {
    Principal app = kms.addPrincipal("arn:aws:iam::111122223333:role/SomeApp");
    assertFalse(app.toString().contains(app.secretAccessKey()));
    String key = kms.createKey("seed");
    try (KmsClient appClient = client(kms, app)) {
      accessDenied(() -> appClient.generateDataKey(r -> r.keyId(key).numberOfBytes(32)));
      String own = appClient.createKey(r -> r.description("own")).keyMetadata().arn();
      assertEquals(
          32,
          appClient
              .generateDataKey(r -> r.keyId(own).numberOfBytes(32))
              .plaintext()
              .asByteArray()
              .length);
    }
  }

  @Test
  void aGrantKeepsTheVendorDecryptingAfterThePolicyDropsIt_untilTheGrantIsRevoked() {
    String key = kms.createKey("granted");
    GenerateDataKeyResponse dk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    CreateGrantResponse grant = grantTheVendorRoleDecrypt(key);
    String adminOnly = policyAllowingOnly(kms.admin().roleArn());
    admin.putKeyPolicy(r -> r.keyId(key).policyName("default").policy(adminOnly));
    // the policy no longer names the vendor, but the grant does
    vendor.decrypt(r -> r.keyId(key).ciphertextBlob(dk.ciphertextBlob()));
    accessDenied(() -> vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32)));
    admin.revokeGrant(r -> r.keyId(key).grantId(grant.grantId()));
    accessDenied(() -> vendor.decrypt(r -> r.keyId(key).ciphertextBlob(dk.ciphertextBlob())));
    assertEquals(
        "RevokeGrant",
        kms.trail().stream()
            .filter(t -> t.eventName().equals("RevokeGrant"))
            .findFirst()
            .orElseThrow()
            .eventName());
  }

  @Test
  void anExplicitDenyInThePolicyBeatsAGrant_andGrantConstraintsAreRefusedNotIgnored() {
    String key = kms.createKey("denied");
    GenerateDataKeyResponse dk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    grantTheVendorRoleDecrypt(key);
    String denyVendor =
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
            + kms.admin().roleArn()
            + "\"},\"Action\":\"kms:*\"},{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\""
            + LocalKms.VENDOR_ROLE_ARN
            + "\"},\"Action\":\"kms:Decrypt\"}]}";
    admin.putKeyPolicy(r -> r.keyId(key).policyName("default").policy(denyVendor));
    accessDenied(() -> vendor.decrypt(r -> r.keyId(key).ciphertextBlob(dk.ciphertextBlob())));
    KmsException e =
        assertThrows(
            KmsException.class,
            () ->
                admin.createGrant(
                    r ->
                        r.keyId(key)
                            .granteePrincipal(LocalKms.VENDOR_ROLE_ARN)
                            .operations(GrantOperation.DECRYPT)
                            .constraints(c -> c.encryptionContextSubset(Map.of("t", "1")))));
    assertEquals("UnsupportedOperationException", e.awsErrorDetails().errorCode());
  }

  @Test
  void aConditionalDenyOnTheEncryptionContext_refusesThatTenantOnlyOverTheWire() {
    String key = kms.createKey("conditional");
    GenerateDataKeyResponse acme =
        vendor.generateDataKey(
            r -> r.keyId(key).numberOfBytes(32).encryptionContext(Map.of("tenant", "acme")));
    GenerateDataKeyResponse other =
        vendor.generateDataKey(
            r -> r.keyId(key).numberOfBytes(32).encryptionContext(Map.of("tenant", "other")));
    String policy =
        kms.seedKeyPolicy()
            .replaceFirst(
                "\"Statement\"\\s*:\\s*\\[",
                "\"Statement\":[{\"Sid\":\"KillAcme\",\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\""
                    + LocalKms.VENDOR_ROLE_ARN
                    + "\"},\"Action\":\"kms:*\",\"Condition\":{\"StringEquals\":"
                    + "{\"kms:EncryptionContext:tenant\":\"acme\"}}},");
    kms.putKeyPolicy(key, policy);
    accessDenied(
        () ->
            vendor.decrypt(
                r ->
                    r.keyId(key)
                        .ciphertextBlob(acme.ciphertextBlob())
                        .encryptionContext(Map.of("tenant", "acme"))));
    vendor.decrypt(
        r ->
            r.keyId(key)
                .ciphertextBlob(other.ciphertextBlob())
                .encryptionContext(Map.of("tenant", "other")));
  }
}
