package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.client;
import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DependencyTimeoutException;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KeyUnavailableException;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.KmsInternalException;

class LocalKmsFaultsIT {

  private LocalKms kms;
  private KmsClient vendor;
  private String keyA;
  private String keyB;
  private GenerateDataKeyResponse dataKeyA;
  private GenerateDataKeyResponse dataKeyB;

  @BeforeEach
  void start() {
    kms = LocalKms.start();
    vendor = client(kms, kms.vendor(), Duration.ofSeconds(5));
    keyA = kms.createKey("a");
    keyB = kms.createKey("b");
    dataKeyA = vendor.generateDataKey(r -> r.keyId(keyA).numberOfBytes(32));
    dataKeyB = vendor.generateDataKey(r -> r.keyId(keyB).numberOfBytes(32));
  }

  @AfterEach
  void stop() {
    vendor.close();
    kms.close();
  }

  private void decryptA() {
    vendor.decrypt(r -> r.ciphertextBlob(dataKeyA.ciphertextBlob()));
  }

  private void decryptB() {
    vendor.decrypt(r -> r.ciphertextBlob(dataKeyB.ciphertextBlob()));
  }

  @Test
  void throttlingIsAThrottlingExceptionForTheChosenOperationAndKeyOnlyUntilCleared() {
    kms.faults().throttle("Decrypt", keyA);
    KmsException e = assertThrows(KmsException.class, this::decryptA);
    assertEquals("ThrottlingException", errorCode(e));
    assertEquals(400, e.statusCode());
    assertTrue(e.isThrottlingException());
    decryptB();
    vendor.generateDataKey(r -> r.keyId(keyA).numberOfBytes(32));
    kms.faults().clear();
    decryptA();
  }

  @Test
  void aFaultNamedByKeyUuidMatchesRequestsNamingTheKeyArn() {
    kms.faults().throttle(null, keyA.substring(keyA.indexOf("key/") + 4));
    assertThrows(KmsException.class, () -> vendor.describeKey(r -> r.keyId(keyA)));
    vendor.describeKey(r -> r.keyId(keyB));
  }

  @Test
  void anInternalErrorIsAKmsInternalExceptionWithHttp500() {
    kms.faults().internalError(null, null);
    KmsInternalException e = assertThrows(KmsInternalException.class, this::decryptB);
    assertEquals(500, e.statusCode());
    assertThrows(KmsInternalException.class, () -> vendor.describeKey(r -> r.keyId(keyA)));
    kms.faults().clear();
    decryptB();
  }

  @Test
  void aDroppedConnectionReachesTheSdkAsAnIoFailureWithoutAnyResponseAndLeavesNoTrailRecord() {
    kms.faults().dropConnection("Decrypt", null);
    kms.clearTrail();
    SdkClientException e = assertThrows(SdkClientException.class, this::decryptA);
    assertTrue(hasCause(e, IOException.class), () -> "expected an IOException cause: " + e);
    assertEquals(List.of(), kms.trail(), "KMS never handled the request: CloudTrail has nothing");
    vendor.describeKey(r -> r.keyId(keyA));
    kms.faults().clear();
    decryptA();
    assertEquals(
        List.of("DescribeKey", "Decrypt"),
        kms.trail().stream().map(TrailEvent::eventName).toList());
    assertTrue(kms.trail().stream().noneMatch(TrailEvent::failed));
  }

  @Test
  void aLostResponseIsAnIoFailureForTheCallerAndASuccessInTheTrail() {
    kms.faults().loseResponse("Decrypt", keyA);
    kms.clearTrail();
    SdkClientException e = assertThrows(SdkClientException.class, this::decryptA);
    assertTrue(hasCause(e, IOException.class), () -> "expected an IOException cause: " + e);
    List<TrailEvent> trail = kms.trail();
    assertEquals(1, trail.size()); // the test client does not retry
    assertEquals("Decrypt", trail.get(0).eventName());
    assertEquals(keyA, trail.get(0).keyId());
    assertFalse(trail.get(0).failed(), "KMS did the work: " + trail.get(0));
    decryptB();
    kms.faults().clear();
    decryptA();
  }

  @Test
  void aLostResponseKeepsTheOperationsErrorInTheTrail() {
    kms.disableKey(keyA);
    kms.faults().loseResponse("Decrypt", null);
    kms.clearTrail();
    assertThrows(SdkClientException.class, this::decryptA);
    assertEquals("DisabledException", kms.trail().get(0).errorCode());
  }

  @Test
  void loseResponsesCountsDownAndThenAnswers() {
    kms.faults().loseResponses("Decrypt", keyA, 2);
    assertThrows(SdkClientException.class, this::decryptA);
    decryptB(); // another key: not counted
    assertThrows(SdkClientException.class, this::decryptA);
    decryptA();
    assertEquals(
        3,
        kms.trail().stream()
            .filter(t -> keyA.equals(t.keyId()) && "Decrypt".equals(t.eventName()) && !t.failed())
            .count());
  }

  @Test
  void latencyAfterCommitLetsAShortClientTimeoutFireAfterKmsDidTheWork() {
    kms.faults().latencyAfterCommit("Decrypt", keyA, Duration.ofSeconds(2));
    try (KmsClient impatient = client(kms, kms.vendor(), Duration.ofMillis(400))) {
      kms.clearTrail();
      assertThrows(
          ApiCallTimeoutException.class,
          () -> impatient.decrypt(r -> r.ciphertextBlob(dataKeyA.ciphertextBlob())));
      List<TrailEvent> trail = kms.trail();
      assertEquals(1, trail.size(), "recorded before the late answer: " + trail);
      assertFalse(trail.get(0).failed());
      kms.faults().latencyAfterCommit("Decrypt", keyA, Duration.ZERO);
      impatient.decrypt(r -> r.ciphertextBlob(dataKeyA.ciphertextBlob()));
    }
  }

  @Test
  void latencyDelaysTheAnswerAndAShortClientTimeoutThenFires() {
    kms.faults().latency("Decrypt", keyA, Duration.ofMillis(700));
    long start = System.nanoTime();
    decryptA();
    assertTrue(Duration.ofNanos(System.nanoTime() - start).toMillis() >= 700);

    kms.faults().latency("Decrypt", keyA, Duration.ofSeconds(3));
    try (KmsClient impatient = client(kms, kms.vendor(), Duration.ofMillis(500))) {
      ApiCallTimeoutException timeout =
          assertThrows(
              ApiCallTimeoutException.class,
              () -> impatient.decrypt(r -> r.ciphertextBlob(dataKeyA.ciphertextBlob())));
      assertNotNull(timeout);
      impatient.decrypt(r -> r.ciphertextBlob(dataKeyB.ciphertextBlob()));
      kms.faults().latency("Decrypt", keyA, Duration.ZERO);
      impatient.decrypt(r -> r.ciphertextBlob(dataKeyA.ciphertextBlob()));
    }
  }

  @Test
  void faultsApplyOnlyToWireCallsNotToTheCustomersInProcessActions() {
    kms.faults().internalError(null, null);
    kms.disableKey(keyA);
    kms.enableKey(keyA);
    assertThrows(KmsInternalException.class, this::decryptA);
  }

  @Test
  void faultedCallsAreInTheTrail() {
    kms.faults().throttle("Decrypt", null);
    assertThrows(KmsException.class, this::decryptA);
    TrailEvent last = kms.trail().get(kms.trail().size() - 1);
    assertEquals("Decrypt", last.eventName());
    assertEquals("ThrottlingException", last.errorCode());
    assertEquals(kms.vendor().arn(), last.userArn());
    assertEquals(keyA, last.keyId());
  }

  @Test
  void keyUnavailableIsAKeyUnavailableExceptionWithHttp500ForTheChosenKeyAndInTheTrail() {
    kms.faults().keyUnavailable("Decrypt", keyA);
    KeyUnavailableException e = assertThrows(KeyUnavailableException.class, this::decryptA);
    assertEquals("KeyUnavailableException", errorCode(e));
    assertEquals(500, e.statusCode());
    TrailEvent last = kms.trail().get(kms.trail().size() - 1);
    assertEquals(e.requestId(), last.requestId());
    assertEquals("KeyUnavailableException", last.errorCode());
    assertEquals(keyA, last.keyId());
    decryptB();
    kms.faults().clear();
    decryptA();
  }

  @Test
  void dependencyTimeoutIsADependencyTimeoutExceptionWithHttp500AndInTheTrail() {
    kms.faults().dependencyTimeout("GenerateDataKey", null);
    DependencyTimeoutException e =
        assertThrows(
            DependencyTimeoutException.class,
            () -> vendor.generateDataKey(r -> r.keyId(keyB).numberOfBytes(32)));
    assertEquals("DependencyTimeoutException", errorCode(e));
    assertEquals(500, e.statusCode());
    TrailEvent last = kms.trail().get(kms.trail().size() - 1);
    assertEquals(e.requestId(), last.requestId());
    assertEquals("DependencyTimeoutException", last.errorCode());
    decryptA();
    kms.faults().clear();
    vendor.generateDataKey(r -> r.keyId(keyB).numberOfBytes(32));
  }

  @Test
  void theStrongestMatchingFailureWins() {
    kms.faults().throttle(null, null);
    kms.faults().dependencyTimeout(null, null);
    assertThrows(DependencyTimeoutException.class, this::decryptA);
    kms.faults().keyUnavailable("Decrypt", null);
    assertThrows(KeyUnavailableException.class, this::decryptA);
    kms.faults().internalError(null, keyA);
    assertThrows(KmsInternalException.class, this::decryptA);
    assertThrows(KeyUnavailableException.class, this::decryptB);
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  @Test
  void faultsTakeAnOperationAndAKeyOrNullForAll() {
    kms.faults().throttle("GenerateDataKey", null);
    KmsException e =
        assertThrows(
            KmsException.class, () -> vendor.generateDataKey(r -> r.keyId(keyB).numberOfBytes(8)));
    assertInstanceOf(KmsException.class, e);
    decryptA();
  }
}
