package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.bytes;
import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.KmsTestSupport.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * KMS's request quota through the real KmsClient with the SDK's retries off, so that every throttle
 * is visible. The clock is injected, so the token bucket refills only when the test moves it: no
 * timing.
 */
class LocalKmsThrottlingIT {

  private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");

  private MutableClock clock;
  private LocalKms kms;
  private KmsClient vendor;
  private KmsClient admin;
  private String keyA;
  private String keyB;
  private GenerateDataKeyResponse dataKeyA;

  /** A real client with retries switched off: one call, one request. */
  private static KmsClient noRetries(LocalKms kms, Principal p) {
    return KmsClient.builder()
        .endpointOverride(kms.endpoint())
        .region(Region.of(kms.region()))
        .credentialsProvider(p.credentialsProvider())
        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
        .build();
  }

  private void start(LocalKms.Builder builder) {
    clock = new MutableClock(T0);
    kms = builder.clock(clock).start();
    vendor = noRetries(kms, kms.vendor());
    admin = noRetries(kms, kms.admin());
    keyA = kms.createKey("a");
    keyB = kms.createKey("b");
  }

  @AfterEach
  void stop() {
    vendor.close();
    admin.close();
    kms.close();
  }

  private void decryptA() {
    vendor.decrypt(r -> r.ciphertextBlob(dataKeyA.ciphertextBlob()));
  }

  private void assertThrottled(Runnable call) {
    KmsException e = assertThrows(KmsException.class, call::run);
    assertEquals("ThrottlingException", errorCode(e));
    assertTrue(e.isThrottlingException());
    assertEquals(400, e.statusCode());
    TrailEvent last = kms.trail().get(kms.trail().size() - 1);
    assertEquals(e.requestId(), last.requestId());
    assertEquals("ThrottlingException", last.errorCode());
  }

  @Test
  void requestsAboveTheRateAreThrottledAndRecordedAndTheBucketRefillsWithTheClock() {
    start(LocalKms.builder().requestRate(5, 5));
    dataKeyA = vendor.generateDataKey(r -> r.keyId(keyA).numberOfBytes(32)); // 1
    for (int i = 0; i < 4; i++) { // 2..5
      decryptA();
    }
    assertThrottled(this::decryptA);
    assertThrottled(this::decryptA); // a throttled request takes no token

    clock.advance(Duration.ofMillis(199));
    assertThrottled(this::decryptA);
    clock.advance(Duration.ofMillis(1)); // 200 ms at 5/s: exactly one token
    decryptA();
    assertThrottled(this::decryptA);

    clock.advance(Duration.ofSeconds(60)); // refills up to the burst, no further
    for (int i = 0; i < 5; i++) {
      decryptA();
    }
    assertThrottled(this::decryptA);
    long throttled =
        kms.trail().stream().filter(t -> "ThrottlingException".equals(t.errorCode())).count();
    assertEquals(5, throttled);
  }

  @Test
  void theRateIsSharedByAllCryptographicOperationsAndKeysOfTheCallingAccount() {
    start(LocalKms.builder().requestRate(4, 6));
    dataKeyA = vendor.generateDataKey(r -> r.keyId(keyA).numberOfBytes(32));
    vendor.generateDataKey(r -> r.keyId(keyB).numberOfBytes(32));
    SdkBytes blob = vendor.encrypt(r -> r.keyId(keyB).plaintext(bytes("x"))).ciphertextBlob();
    decryptA();
    vendor.reEncrypt(r -> r.ciphertextBlob(blob).destinationKeyId(keyA));
    vendor.decrypt(r -> r.ciphertextBlob(blob));
    assertThrottled(() -> vendor.encrypt(r -> r.keyId(keyA).plaintext(bytes("y"))));
    assertThrottled(() -> vendor.generateDataKey(r -> r.keyId(keyB).numberOfBytes(32)));
    assertThrottled(() -> vendor.reEncrypt(r -> r.ciphertextBlob(blob).destinationKeyId(keyA)));

    // other operations have their own quotas in KMS: not limited here
    for (int i = 0; i < 10; i++) {
      vendor.describeKey(r -> r.keyId(keyA));
    }
    // the key's own account has its own bucket: the customer is not throttled by the vendor
    for (int i = 0; i < 5; i++) {
      admin.encrypt(r -> r.keyId(keyA).plaintext(bytes("z")));
    }
    admin.generateDataKeyWithoutPlaintext(r -> r.keyId(keyB).numberOfBytes(32));
    assertThrottled(() -> admin.encrypt(r -> r.keyId(keyA).plaintext(bytes("z"))));
    assertThrottled(this::decryptA);
  }

  @Test
  void theRateCanBeSetAndSwitchedOffAtRunTime() {
    start(LocalKms.builder());
    dataKeyA = vendor.generateDataKey(r -> r.keyId(keyA).numberOfBytes(32));
    for (int i = 0; i < 50; i++) {
      decryptA(); // no limit by default
    }
    assertTrue(kms.trail().stream().noneMatch(t -> t.errorCode() != null));
    kms.requestRate(2, 2);
    decryptA();
    decryptA();
    assertThrottled(this::decryptA);
    kms.unlimitedRequestRate();
    for (int i = 0; i < 20; i++) {
      decryptA();
    }
  }

  @Test
  void invalidRatesAreRefused() {
    for (Runnable r :
        List.<Runnable>of(
            () -> LocalKms.builder().requestRate(0),
            () -> LocalKms.builder().requestRate(-1, 1),
            () -> LocalKms.builder().requestRate(Double.NaN, 1),
            () -> LocalKms.builder().requestRate(5, 0))) {
      assertThrows(IllegalArgumentException.class, r::run);
    }
    clock = null;
    kms = LocalKms.start();
    vendor = noRetries(kms, kms.vendor());
    admin = noRetries(kms, kms.admin());
    assertThrows(IllegalArgumentException.class, () -> kms.requestRate(1, 0));
  }
}
