package com.panops.crypto.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.panops.crypto.RevocationReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
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

  /** KMS's message names the key and its state: "ARN is STATE". */
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "pending deletion.                         | PENDING_DELETION",
        "pending import.                           | PENDING_IMPORT",
        "unavailable.                              | KEY_STORE_UNAVAILABLE",
        "not yet available (it is being created).  | INVALID_STATE"
      })
  void eachKeyStateReadsAsItsOwnReason_andAnUnknownOneAsInvalidState(
      String state, RevocationReason reason) {
    String arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    assertEquals(reason, KmsFailures.classify(invalidState(arn + " is " + state)));
  }

  @Test
  void anInvalidStateWithoutAMessage_readsAsInvalidState() {
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
