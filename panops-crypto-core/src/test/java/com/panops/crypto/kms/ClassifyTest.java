package com.panops.crypto.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.panops.crypto.RevocationReason;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.kms.model.KmsInvalidStateException;

/** KMSInvalidStateException is read by the state its message names, as KMS words it. */
class ClassifyTest {
  private static KmsInvalidStateException invalidState(String message) {
    return (KmsInvalidStateException)
        KmsInvalidStateException.builder()
            .awsErrorDetails(
                AwsErrorDetails.builder()
                    .errorCode("KMSInvalidStateException")
                    .errorMessage(message)
                    .build())
            .statusCode(400)
            .build();
  }

  @Test
  void eachKeyStateReadsAsItsOwnReason_andAnUnknownOneAsInvalidState() {
    String arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    assertEquals(
        RevocationReason.PENDING_DELETION,
        KmsFailures.classify(invalidState(arn + " is pending deletion.")));
    assertEquals(
        RevocationReason.PENDING_IMPORT,
        KmsFailures.classify(invalidState(arn + " is pending import.")));
    assertEquals(
        RevocationReason.KEY_STORE_UNAVAILABLE,
        KmsFailures.classify(invalidState(arn + " is unavailable.")));
    assertEquals(
        RevocationReason.INVALID_STATE,
        KmsFailures.classify(invalidState(arn + " is not yet available (it is being created).")));
    assertEquals(RevocationReason.INVALID_STATE, KmsFailures.classify(invalidState(null)));
  }

  @Test
  void keyStateReasonsAreCustomerActions_andRetryableKmsErrorsAreNot() {
    for (RevocationReason r :
        new RevocationReason[] {
          RevocationReason.PENDING_IMPORT,
          RevocationReason.KEY_STORE_UNAVAILABLE,
          RevocationReason.INVALID_STATE
        }) {
      assertEquals(true, r.isCustomerAction(), r.name());
    }
    assertEquals(false, RevocationReason.KEY_UNAVAILABLE.isCustomerAction());
    assertEquals(false, RevocationReason.DEPENDENCY_TIMEOUT.isCustomerAction());
  }
}
