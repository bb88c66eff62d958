package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RevocationReason;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * The customer's kill switch: disabling the CMK in KMS stops reads within one probe interval, even
 * though every data key is cached; enabling it again restores them.
 */
class KillSwitchIT {
  /** Slack over one probe interval for the probe's KMS round trip and scheduling on 2 cores. */
  private static final Duration SLACK = Duration.ofMillis(1500);

  @Test
  void disablingTheCmk_failsGetsWithinOneProbeInterval_withAWarmCache_andEnablingRestoresThem()
      throws Exception {
    S3TestEnv env = S3TestEnv.get();
    String cmk = env.freshKey();
    String bucket = env.freshBucket();
    try (PanopsCrypto crypto = env.crypto("t", cmk);
        EncryptingS3Client s3 = env.client(crypto, "t").build()) {
      s3.putObject(r -> r.bucket(bucket).key("k"), RequestBody.fromString("payload"));
      // warm: the data key is cached, reads need no KMS call
      for (int i = 0; i < 3; i++) {
        assertEquals("payload", s3.getObjectAsBytes(r -> r.bucket(bucket).key("k")).asUtf8String());
      }
      long disabledAt = System.nanoTime();
      env.kms.disableKey(cmk);

      S3KeyRevokedException revoked = awaitRevoked(s3, bucket, S3TestEnv.PROBE.plus(SLACK));
      long elapsedMs = (System.nanoTime() - disabledAt) / 1_000_000;
      assertTrue(
          elapsedMs <= S3TestEnv.PROBE.plus(SLACK).toMillis(),
          "revoked after " + elapsedMs + " ms");
      assertInstanceOf(KeyRevokedException.class, revoked.getCause());
      assertEquals(RevocationReason.DISABLED, revoked.reason());
      assertEquals(cmk, revoked.keyArn());
      assertThrows(
          S3KeyRevokedException.class,
          () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("k").range("bytes=0-2")));
      assertThrows(
          S3KeyRevokedException.class,
          () -> s3.putObject(r -> r.bucket(bucket).key("k2"), RequestBody.fromString("x")));

      env.kms.enableKey(cmk);
      // A customer-action latch lifts after settling: within settle time + one interval.
      long deadline =
          System.nanoTime() + S3TestEnv.SETTLE.plus(S3TestEnv.PROBE).plus(SLACK).toNanos();
      String got = null;
      while (got == null) {
        try {
          got = s3.getObjectAsBytes(r -> r.bucket(bucket).key("k")).asUtf8String();
        } catch (S3KeyRevokedException stillLatched) {
          if (System.nanoTime() > deadline) {
            throw new AssertionError(
                "not restored within the settle time plus one probe interval", stillLatched);
          }
          Thread.sleep(20);
        }
      }
      assertEquals("payload", got);
    }
  }

  /** Reads until the read fails as revoked; bounded by {@code within}. */
  private static S3KeyRevokedException awaitRevoked(
      EncryptingS3Client s3, String bucket, Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (true) {
      try {
        s3.getObjectAsBytes(r -> r.bucket(bucket).key("k"));
      } catch (S3KeyRevokedException e) {
        return e;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "reads still succeed " + within.toMillis() + " ms after disabling");
      }
      Thread.sleep(20);
    }
  }
}
