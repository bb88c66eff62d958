package com.panops.crypto.verify;

import static com.panops.crypto.verify.TimeToDarkTest.principal;
import static com.panops.crypto.verify.TimeToDarkTest.vendor;
import static com.panops.crypto.verify.TimeToDarkTest.verify;
import static com.panops.crypto.verify.Trails.KEY;
import static com.panops.crypto.verify.Trails.VENDOR_ROLE;
import static com.panops.crypto.verify.Trails.at;
import static com.panops.crypto.verify.Trails.vendorCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
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

  @Test
  void policyReadingFollowsAllowDenyAndWildcards() {
    String account = "999988887777";
    KeyPolicyView allowAll =
        KeyPolicyView.parse(
            "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\"}}");
    assertTrue(allowAll.allowsDecrypt(VENDOR_ROLE, account));
    KeyPolicyView denied =
        KeyPolicyView.parse(
            "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\""
                + VENDOR_ROLE
                + "\"]},\"Action\":\"kms:De*\"},{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\""
                + account
                + "\"},\"Action\":\"kms:Decrypt\"}]}");
    assertEquals(false, denied.allowsDecrypt(VENDOR_ROLE, account));
    KeyPolicyView encryptOnly =
        KeyPolicyView.parse(
            "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
                + VENDOR_ROLE
                + "\"},\"Action\":[\"kms:Encrypt\",\"kms:GenerateDataKey\"]}]}");
    assertEquals(false, encryptOnly.allowsDecrypt(VENDOR_ROLE, account));
    assertEquals(null, KeyPolicyView.parse("not json"), "an unreadable policy changes nothing");
  }
}
