package com.panops.crypto.verify;

import static com.panops.crypto.verify.TimeToDarkTest.principal;
import static com.panops.crypto.verify.TimeToDarkTest.vendor;
import static com.panops.crypto.verify.TimeToDarkTest.verify;
import static com.panops.crypto.verify.Trails.KEY;
import static com.panops.crypto.verify.Trails.VENDOR_ROLE;
import static com.panops.crypto.verify.Trails.adminChange;
import static com.panops.crypto.verify.Trails.at;
import static com.panops.crypto.verify.Trails.vendorCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The vendor removed from the key policy, or its grant revoked, is a cut; put back, a restore. */
class PolicyAndGrantCutsTest {
  @TempDir Path dir;

  @Test
  void aPolicyWithoutTheVendorIsACutAndOneThatNamesItAgainIsARestore() {
    new Trails.Writer(dir)
        .file(
            at(100),
            List.of(
                Trails.putKeyPolicy(KEY, at(0), VENDOR_ROLE),
                vendorCall("Decrypt", KEY, at(1), null),
                Trails.putKeyPolicy(KEY, at(5)),
                vendorCall("Decrypt", KEY, at(6), "AccessDeniedException"),
                Trails.putKeyPolicy(KEY, at(10), "arn:aws:iam::999988887777:root"),
                vendorCall("Decrypt", KEY, at(11), null)));

    VerificationReport r = verify(dir, vendor());

    JsonNode cut = principal(r, KEY).path("cuts").get(0);
    assertEquals(1, principal(r, KEY).path("cuts").size());
    assertEquals(at(5).toString(), cut.path("at").asText());
    assertEquals("PutKeyPolicy", cut.path("by").asText());
    assertEquals("AccessDeniedException", cut.path("firstRefusedErrorCode").asText());
    assertEquals(at(10).toString(), cut.path("restoredAt").asText(), "the vendor's account root");
    assertEquals(0, r.violations());
  }

  @Test
  void revokingTheGrantAVendorReliesOnIsACut() {
    new Trails.Writer(dir)
        .file(
            at(100),
            List.of(
                Trails.putKeyPolicy(KEY, at(0)),
                Trails.createGrant(KEY, at(1), VENDOR_ROLE, "grant-1"),
                vendorCall("Decrypt", KEY, at(2), null),
                Trails.revokeGrant(KEY, at(3), "grant-1"),
                vendorCall("Decrypt", KEY, at(90), null)));

    VerificationReport r = verify(dir, vendor());

    JsonNode cut = principal(r, KEY).path("cuts").get(0);
    assertEquals("RevokeGrant", cut.path("by").asText());
    assertEquals(1, r.violations(), "87 s after the grant was revoked");
  }

  @Test
  void aGrantToSomeoneElseChangesNothingForTheVendor() {
    new Trails.Writer(dir)
        .file(
            at(100),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                Trails.createGrant(KEY, at(1), "arn:aws:iam::111122223333:role/Other", "g"),
                Trails.revokeGrant(KEY, at(2), "g"),
                vendorCall("Decrypt", KEY, at(3), null)));

    VerificationReport r = verify(dir, vendor());

    assertTrue(principal(r, KEY).path("cuts").isEmpty(), r::toText);
    assertEquals(VerificationReport.Verdict.NO_CUTS, r.verdict());
  }

  private static KeyPolicyView.Access access(String statements) {
    return KeyPolicyView.parse("{\"Statement\":" + statements + "}")
        .access(VENDOR_ROLE, "999988887777");
  }

  private static final String ALLOW_VENDOR =
      "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\""
          + VENDOR_ROLE
          + "\"]},\"Action\":\"kms:De*\"}";

  @Test
  void policyReadingFollowsAllowDenyWildcardsAndTheirNegations() {
    assertEquals(
        KeyPolicyView.Access.ALLOWED,
        access("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\"}"));
    assertEquals(KeyPolicyView.Access.ALLOWED, access("[" + ALLOW_VENDOR + "]"));
    assertEquals(
        KeyPolicyView.Access.DENIED,
        access(
            "["
                + ALLOW_VENDOR
                + ",{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"999988887777\"},\"Action\":\"kms:Decrypt\"}]"),
        "an unconditional Deny of the vendor's account wins");
    assertEquals(
        KeyPolicyView.Access.NOT_ALLOWED,
        access(
            "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
                + VENDOR_ROLE
                + "\"},\"Action\":[\"kms:Encrypt\",\"kms:GenerateDataKey\"]}"),
        "no Decrypt");
    assertEquals(
        KeyPolicyView.Access.DENIED,
        access(
            "["
                + ALLOW_VENDOR
                + ",{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"},\"Action\":\"kms:*\"}]"),
        "a Deny of everyone but the customer");
    assertEquals(
        KeyPolicyView.Access.DENIED,
        access(
            "["
                + ALLOW_VENDOR
                + ",{\"Effect\":\"Deny\",\"Principal\":\"*\",\"NotAction\":\"kms:DescribeKey\"}]"),
        "a Deny of everything but DescribeKey");
    assertEquals(
        KeyPolicyView.Access.CONDITIONAL,
        access(
            "["
                + ALLOW_VENDOR
                + ",{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Condition\":{\"StringNotEquals\":{\"aws:PrincipalAccount\":\"111122223333\"}}}]"),
        "a conditional Deny is not evaluated, and says so");
    assertEquals(
        KeyPolicyView.Access.ALLOWED,
        access(
            "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::999988887777:role/svc/PanOpsServiceRole\"},\"Action\":\"kms:Decrypt\"}"),
        "a role named with its path is the same role");
    for (String pattern : new String[] {"kms:*crypt", "kms:?ecrypt", "KMS:DECRYPT", "*"}) {
      assertEquals(
          KeyPolicyView.Access.DENIED,
          access(
              "["
                  + ALLOW_VENDOR
                  + ",{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\""
                  + pattern
                  + "\"}]"),
          "IAM wildcards anywhere: " + pattern);
    }
    assertEquals(
        KeyPolicyView.Access.CONDITIONAL,
        access(
            "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\",\"Condition\":{\"Bool\":{\"x\":\"y\"}}}"),
        "allowed only under a condition");
    assertEquals(null, KeyPolicyView.parse("not json"), "an unreadable policy");
  }

  @Test
  void aConditionalDenyOrAnUnreadablePolicyMakesTheInputIncomplete() {
    ObjectNode conditional = Trails.putKeyPolicy(KEY, at(5), VENDOR_ROLE);
    ObjectNode params = (ObjectNode) conditional.get("requestParameters");
    params.put(
        "policy",
        params
            .get("policy")
            .asText()
            .replace(
                "]}",
                ",{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}"));
    ObjectNode unreadable = Trails.putKeyPolicy(KEY, at(7), VENDOR_ROLE);
    ((ObjectNode) unreadable.get("requestParameters")).put("policy", "{not a policy");
    new Trails.Writer(dir)
        .file(
            at(60),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                conditional,
                unreadable,
                vendorCall("Decrypt", KEY, at(9), null)));

    VerificationReport r = verify(dir, vendor());

    assertEquals(2, r.json().path("input").path("undetermined").asLong(), r::toText);
    assertEquals(VerificationReport.Verdict.INCOMPLETE, r.verdict());
  }

  @Test
  void aRevokedGrantTheTrailNeverShowedCreatedIsUndetermined() {
    new Trails.Writer(dir)
        .file(
            at(60),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                Trails.revokeGrant(KEY, at(3), "grant-from-last-year")));

    VerificationReport r = verify(dir, vendor());

    assertEquals(1, r.json().path("input").path("undetermined").asLong(), r::toText);
    assertEquals(VerificationReport.Verdict.INCOMPLETE, r.verdict());
  }

  @Test
  void anExplicitDenyInThePolicyBeatsTheVendorsGrant() {
    ObjectNode deny = Trails.putKeyPolicy(KEY, at(5));
    ObjectNode params = (ObjectNode) deny.get("requestParameters");
    params.put(
        "policy",
        params
            .get("policy")
            .asText()
            .replace(
                "]}",
                ",{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\""
                    + VENDOR_ROLE
                    + "\"},\"Action\":\"kms:*\"}]}"));
    new Trails.Writer(dir)
        .file(
            at(600),
            List.of(
                Trails.putKeyPolicy(KEY, at(0)),
                Trails.createGrant(KEY, at(1), VENDOR_ROLE, "g"),
                vendorCall("Decrypt", KEY, at(2), null),
                deny,
                vendorCall("Decrypt", KEY, at(300), null)));

    VerificationReport r = verify(dir, vendor());

    assertEquals(VerificationReport.Verdict.VIOLATION, r.verdict(), r::toText);
  }

  @Test
  void aGrantToTheVendorsAccountOrForItsOtherOperationsIsNoFalseViolation() {
    ObjectNode toAccount = Trails.createGrant(KEY, at(1), "arn:aws:iam::999988887777:root", "g1");
    ObjectNode encryptOnly = Trails.createGrant(KEY, at(1), VENDOR_ROLE, "g2");
    ((ObjectNode) encryptOnly.get("requestParameters"))
        .putArray("operations")
        .add("GenerateDataKey")
        .add("Encrypt");
    new Trails.Writer(dir)
        .file(
            at(600),
            List.of(
                Trails.putKeyPolicy(KEY, at(0)),
                encryptOnly,
                vendorCall("GenerateDataKey", KEY, at(100), null),
                vendorCall("Encrypt", KEY, at(101), null),
                toAccount,
                vendorCall("Decrypt", KEY, at(200), null)));

    VerificationReport r = verify(dir, vendor());

    assertEquals(0, r.violations(), r::toText);
  }

  @Test
  void whatCannotBeToldBeforeTheVendorsFirstCallIsStillReported() {
    ObjectNode unreadable = Trails.putKeyPolicy(KEY, at(0));
    ((ObjectNode) unreadable.get("requestParameters")).put("policy", "{not json");
    ObjectNode byAlias = adminChange("DisableKey", KEY, at(2));
    byAlias.remove("resources");
    ((ObjectNode) byAlias.get("requestParameters")).put("keyId", "alias/prod");
    new Trails.Writer(dir)
        .file(
            at(600),
            List.of(
                unreadable,
                Trails.revokeGrant(KEY, at(1), "old"),
                byAlias,
                vendorCall("Decrypt", KEY, at(300), null)));

    VerificationReport r = verify(dir, vendor());

    assertEquals(3, r.json().path("input").path("undetermined").asLong(), r::toText);
    assertEquals(VerificationReport.Verdict.INCOMPLETE, r.verdict());
  }

  @Test
  void deletingImportedKeyMaterialIsACutAndImportingItARestore() {
    new Trails.Writer(dir)
        .file(
            at(600),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                adminChange("DeleteImportedKeyMaterial", KEY, at(1)),
                vendorCall("Decrypt", KEY, at(2), "KMSInvalidStateException"),
                adminChange("ImportKeyMaterial", KEY, at(10)),
                vendorCall("Decrypt", KEY, at(11), null)));

    JsonNode cut = principal(verify(dir, vendor()), KEY).path("cuts").get(0);

    assertEquals("DeleteImportedKeyMaterial", cut.path("by").asText());
    assertEquals("ImportKeyMaterial", cut.path("restoredBy").asText());
  }
}
