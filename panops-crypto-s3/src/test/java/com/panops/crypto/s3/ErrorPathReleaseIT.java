package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.panops.crypto.PanopsCrypto;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.services.s3.model.CopyObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectTaggingRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Every stream a copy or a re-wrap opens is aborted on its error paths: with a pool of two HTTP
 * connections, more failing objects than the pool holds are followed by an ordinary request, which
 * gets a connection (a leaked connection per failure would leave it waiting for one, then failing).
 */
class ErrorPathReleaseIT {
  private static final int POOL = 2;
  private static final int FAILURES = 3 * POOL;

  /** Refuses one kind of request, as S3 refuses a role without the permission for it. */
  static final class Deny implements ExecutionInterceptor {
    final AtomicReference<Class<? extends SdkRequest>> denied = new AtomicReference<>();

    @Override
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
      Class<? extends SdkRequest> d = denied.get();
      if (d != null && d.isInstance(context.request())) {
        throw S3Exception.builder().statusCode(403).message("Access Denied (test)").build();
      }
    }
  }

  /** Copies the object to {@code key + "-copy"} in its bucket, with the further settings. */
  private static void copyBesideItself(
      EncryptingS3Client s3, String bucket, String key, Consumer<CopyObjectRequest.Builder> more) {
    s3.copyObject(
        r -> {
          r.sourceBucket(bucket)
              .sourceKey(key)
              .destinationBucket(bucket)
              .destinationKey(key + "-copy");
          more.accept(r);
        });
  }

  @Test
  void failedRewrapsAndCopies_releaseTheirConnections() {
    S3TestEnv env = S3TestEnv.get();
    CmkMove move = CmkMove.betweenFreshKeys(env);
    String bucket = env.freshBucket();
    Deny deny = new Deny();
    byte[] body = S3TestEnv.bytes(42, 200_000); // larger than the 16 KiB prefix: a second GET
    try (PanopsCrypto crypto = env.crypto(move, 4096);
        EncryptingS3Client s3 =
            S3TestEnv.client(
                    crypto,
                    "t",
                    env.s3Client(deny)
                        .httpClient(
                            Apache5HttpClient.builder()
                                .maxConnections(POOL)
                                .connectionAcquisitionTimeout(Duration.ofSeconds(5))
                                .build())
                        .build())
                .build()) {
      for (int i = 0; i < FAILURES; i++) {
        String key = "o" + i;
        s3.putObject(r -> r.bucket(bucket).key(key).tagging("k=v"), RequestBody.fromBytes(body));
      }
      move.moveToNewCmk();

      // a role without s3:GetObjectTagging: every re-wrap and copy fails
      deny.denied.set(GetObjectTaggingRequest.class);
      for (int i = 0; i < FAILURES; i++) {
        String key = "o" + i;
        assertThrows(S3Exception.class, () -> s3.rewrapObject(bucket, key));
        assertThrows(S3Exception.class, () -> copyBesideItself(s3, bucket, key, r -> {}));
      }
      // the PutObject fails after the body's source stream was opened
      deny.denied.set(PutObjectRequest.class);
      for (int i = 0; i < FAILURES; i++) {
        String key = "o" + i;
        assertEquals(
            403,
            assertThrows(S3Exception.class, () -> s3.rewrapObject(bucket, key)).statusCode(),
            "the PutObject's refusal, not a pool timeout");
        assertEquals(
            403,
            assertThrows(
                    S3Exception.class,
                    () -> copyBesideItself(s3, bucket, key, r -> r.taggingDirective("REPLACE")))
                .statusCode());
      }
      deny.denied.set(null);

      // the application's own traffic still gets connections
      for (int i = 0; i < FAILURES; i++) {
        String key = "o" + i;
        assertArrayEquals(body, s3.getObjectAsBytes(r -> r.bucket(bucket).key(key)).asByteArray());
      }
      assertEquals(RewrapOutcome.REWRAPPED, s3.rewrapObject(bucket, "o0"));
    }
  }
}
