package com.panops.crypto.testkit.internal.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.panops.crypto.testkit.internal.kms.KeyPolicy.Decision;
import java.util.Map;
import org.junit.jupiter.api.Test;

class KeyPolicyTest {

  private static final String ADMIN = "arn:aws:iam::111122223333:role/KeyAdmin";
  private static final String VENDOR = "arn:aws:iam::999988887777:role/PanOpsServiceRole";

  private static final String SEED =
      "{\"Version\":\"2012-10-17\",\"Statement\":["
          + "{\"Sid\":\"Admin\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
          + ADMIN
          + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},"
          + "{\"Sid\":\"PanOpsServiceAccess\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
          + VENDOR
          + "\"},\"Action\":[\"kms:Encrypt\",\"kms:Decrypt\",\"kms:ReEncrypt*\","
          + "\"kms:GenerateDataKey\",\"kms:DescribeKey\"],\"Resource\":\"*\"}]}";

  @Test
  void theSeedPolicyAllowsTheVendorExactlyItsFiveActionsAndReEncryptStarCoversBothHalves() {
    KeyPolicy p = KeyPolicy.parse(SEED);
    for (String a :
        new String[] {
          "kms:Encrypt",
          "kms:Decrypt",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
          "kms:GenerateDataKey",
          "kms:DescribeKey"
        }) {
      assertEquals(Decision.ALLOW, p.evaluate(VENDOR, a), a);
    }
    for (String a :
        new String[] {
          "kms:DisableKey",
          "kms:ScheduleKeyDeletion",
          "kms:PutKeyPolicy",
          "kms:CreateGrant",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:EnableKey",
          "kms:GetKeyPolicy"
        }) {
      assertEquals(Decision.IMPLICIT_DENY, p.evaluate(VENDOR, a), a);
    }
    assertEquals(Decision.ALLOW, p.evaluate(ADMIN, "kms:ScheduleKeyDeletion"));
  }

  @Test
  void actionsMatchCaseInsensitivelyWithWildcards() {
    KeyPolicy p =
        KeyPolicy.parse(
            "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[\"KMS:generate?ataKey\",\"kms:re*\"]}}");
    assertEquals(Decision.ALLOW, p.evaluate(VENDOR, "kms:GenerateDataKey"));
    assertEquals(Decision.ALLOW, p.evaluate(VENDOR, "kms:ReEncryptTo"));
    assertEquals(Decision.IMPLICIT_DENY, p.evaluate(VENDOR, "kms:GenerateDataKeyWithoutPlaintext"));
    assertEquals(Decision.IMPLICIT_DENY, p.evaluate(VENDOR, "kms:Decrypt"));
  }

  @Test
  void anExplicitDenyWinsWhateverItsPosition() {
    KeyPolicy p =
        KeyPolicy.parse(
            "{\"Statement\":["
                + "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":[\""
                + VENDOR
                + "\"]},\"Action\":\"kms:Decrypt\"},"
                + "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"kms:*\"}]}");
    assertEquals(Decision.EXPLICIT_DENY, p.evaluate(VENDOR, "kms:Decrypt"));
    assertEquals(Decision.ALLOW, p.evaluate(VENDOR, "kms:Encrypt"));
    assertEquals(Decision.ALLOW, p.evaluate(ADMIN, "kms:Decrypt"));
  }

  @Test
  void anAccountPrincipalMatchesEveryPrincipalOfThatAccountOnly() {
    KeyPolicy root =
        KeyPolicy.parse(
            "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"},\"Action\":\"kms:*\"}}");
    assertEquals(Decision.ALLOW, root.evaluate(ADMIN, "kms:Decrypt"));
    assertEquals(Decision.IMPLICIT_DENY, root.evaluate(VENDOR, "kms:Decrypt"));
    KeyPolicy bare =
        KeyPolicy.parse(
            "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"999988887777\"},\"Action\":\"kms:Decrypt\"}}");
    assertEquals(Decision.ALLOW, bare.evaluate(VENDOR, "kms:Decrypt"));
    assertEquals(Decision.IMPLICIT_DENY, bare.evaluate(ADMIN, "kms:Decrypt"));
  }

  @Test
  void otherPrincipalTypesMatchNoCaller() {
    KeyPolicy p =
        KeyPolicy.parse(
            "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"s3.amazonaws.com\"},\"Action\":\"kms:*\"}}");
    assertEquals(Decision.IMPLICIT_DENY, p.evaluate(ADMIN, "kms:Decrypt"));
  }

  @Test
  void malformedAndUnsupportedPoliciesAreRefusedWithAReason() {
    String[] bad = {
      "",
      "nope",
      "[]",
      "{\"Statement\":[]}",
      "{\"Version\":\"2099-01-01\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\"}}",
      "{\"Statement\":{\"Effect\":\"allow\",\"Principal\":\"*\",\"Action\":\"kms:*\"}}",
      "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"someone\",\"Action\":\"kms:*\"}}",
      "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\"}}",
      "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[]}}",
      "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[1]}}",
      "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"NotAction\":\"kms:Decrypt\"}}",
      "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Condition\":{}}}",
      "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\"},\"Extra\":1}",
      "{\"Statement\":{\"Effect\":\"Allow\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:*\"}}"
    };
    for (String json : bad) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> KeyPolicy.parse(json), json);
      assertEquals(false, e.getMessage() == null || e.getMessage().isEmpty(), json);
    }
  }

  @Test
  void aPolicyNamingTheRoleMatchesItsAssumedRoleSessionsAndNoOtherRolesSessions() {
    KeyPolicy p =
        KeyPolicy.parse(
            "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
                + VENDOR
                + "\"},\"Action\":\"kms:Decrypt\"}}");
    String session = "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/worker-7";
    assertEquals(Decision.ALLOW, p.evaluate(session, "kms:Decrypt"));
    assertEquals(
        Decision.IMPLICIT_DENY,
        p.evaluate("arn:aws:sts::999988887777:assumed-role/OtherRole/worker-7", "kms:Decrypt"));
    assertEquals(VENDOR, KeyPolicy.roleOf(session));
    assertEquals(null, KeyPolicy.roleOf(VENDOR));
    assertEquals(null, KeyPolicy.roleOf("arn:aws:sts::999988887777:assumed-role/NoSession"));
  }

  private static KeyPolicy withCondition(String effect, String condition) {
    return KeyPolicy.parse(
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
            + VENDOR
            + "\"},\"Action\":\"kms:Decrypt\""
            + (effect.equals("Allow") ? ",\"Condition\":" + condition : "")
            + "}"
            + (effect.equals("Deny")
                ? ",{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:*\",\"Condition\":"
                    + condition
                    + "}"
                : "")
            + "]}");
  }

  @Test
  void encryptionContextConditions_allowOnlyTheMatchingContext() {
    KeyPolicy p =
        withCondition("Allow", "{\"StringEquals\":{\"kms:EncryptionContext:tenant\":\"acme\"}}");
    assertEquals(Decision.ALLOW, p.evaluate(VENDOR, "kms:Decrypt", Map.of("tenant", "acme")));
    assertEquals(
        Decision.IMPLICIT_DENY, p.evaluate(VENDOR, "kms:Decrypt", Map.of("tenant", "other")));
    assertEquals(Decision.IMPLICIT_DENY, p.evaluate(VENDOR, "kms:Decrypt", Map.of()));
    KeyPolicy like =
        withCondition("Allow", "{\"StringLike\":{\"kms:EncryptionContext:tenant\":\"ac*\"}}");
    assertEquals(Decision.ALLOW, like.evaluate(VENDOR, "kms:Decrypt", Map.of("tenant", "acme")));
    assertEquals(
        Decision.IMPLICIT_DENY, like.evaluate(VENDOR, "kms:Decrypt", Map.of("tenant", "bcme")));
  }

  @Test
  void forAllValuesOnContextKeys_limitsWhichKeysMayAppear_andHoldsForNoKeys() {
    KeyPolicy p =
        withCondition(
            "Allow",
            "{\"ForAllValues:StringEquals\":{\"kms:EncryptionContextKeys\":[\"tenant\",\"class\"]}}");
    assertEquals(
        Decision.ALLOW, p.evaluate(VENDOR, "kms:Decrypt", Map.of("tenant", "a", "class", "mail")));
    assertEquals(
        Decision.IMPLICIT_DENY,
        p.evaluate(VENDOR, "kms:Decrypt", Map.of("tenant", "a", "extra", "x")));
    assertEquals(Decision.ALLOW, p.evaluate(VENDOR, "kms:Decrypt", Map.of()));
  }

  @Test
  void aConditionalDeny_deniesOnlyWhenItsConditionHolds_andMatchesRoleSessionsByPrincipalArn() {
    KeyPolicy p =
        withCondition(
            "Deny",
            "{\"StringLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::999988887777:role/PanOps*\"},"
                + "\"StringEquals\":{\"kms:EncryptionContext:tenant\":\"acme\"}}");
    String session = "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/w-1";
    assertEquals(
        Decision.EXPLICIT_DENY, p.evaluate(session, "kms:Decrypt", Map.of("tenant", "acme")));
    assertEquals(Decision.ALLOW, p.evaluate(session, "kms:Decrypt", Map.of("tenant", "other")));
    KeyPolicy notEquals =
        withCondition("Deny", "{\"StringNotEquals\":{\"kms:EncryptionContext:tenant\":\"acme\"}}");
    assertEquals(Decision.EXPLICIT_DENY, notEquals.evaluate(VENDOR, "kms:Decrypt", Map.of()));
    assertEquals(
        Decision.ALLOW, notEquals.evaluate(VENDOR, "kms:Decrypt", Map.of("tenant", "acme")));
  }

  @Test
  void unsupportedConditionOperatorsAndKeysMakeThePolicyMalformed() {
    for (String c :
        new String[] {
          "{\"NumericLessThan\":{\"kms:EncryptionContext:n\":\"1\"}}",
          "{\"StringEquals\":{\"aws:SourceIp\":\"127.0.0.1\"}}",
          "{\"ForSomeValues:StringEquals\":{\"kms:EncryptionContextKeys\":\"a\"}}",
          "{\"StringEquals\":{}}"
        }) {
      assertThrows(IllegalArgumentException.class, () -> withCondition("Allow", c), c);
    }
  }
}
