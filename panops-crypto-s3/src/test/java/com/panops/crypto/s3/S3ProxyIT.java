package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.s3.S3ProxyServer;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The adapter on a second S3 implementation: S3Proxy with its in-memory blob store, which checks
 * SigV4, enforces {@code If-Match}, and answers {@code GetObjectTagging} with 501 NotImplemented.
 */
class S3ProxyIT {
  private static S3ProxyServer proxy;
  private static S3Client raw;

  @BeforeAll
  static void start() {
    proxy = S3ProxyServer.start(S3ProxyServer.locateJar());
    raw = client(proxy.secretAccessKey());
  }

  @AfterAll
  static void stop() {
    if (raw != null) {
      raw.close();
    }
    if (proxy != null) {
      proxy.close();
    }
  }

  private static S3Client client(String secret) {
    return S3Client.builder()
        .endpointOverride(proxy.endpoint())
        .forcePathStyle(true)
        .region(Region.of(proxy.region()))
        .credentialsProvider(
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create(proxy.accessKeyId(), secret)))
        .build();
  }

  private static String bucket(String name) {
    raw.createBucket(r -> r.bucket(name));
    return name;
  }

  @Test
  void itChecksSignatures_soTheTestsBelowRunOnARealSigV4Wire() {
    try (S3Client wrong = client("not-the-secret")) {
      S3Exception e = assertThrows(S3Exception.class, () -> wrong.listBuckets());
      assertEquals(403, e.statusCode());
    }
  }

  @Test
  void putGetRangedCopyAndRewrap_allWork_onAStoreWithoutObjectTagging() {
    S3TestEnv env = S3TestEnv.get(); // LocalKms
    CmkMove move = new CmkMove(env.kms.createKey("s3proxy-old"), env.kms.createKey("s3proxy-new"));
    String bucket = bucket("proxy-it");
    byte[] small = S3TestEnv.bytes(1, 1000);
    byte[] large = S3TestEnv.bytes(2, 150_000);
    try (PanopsCrypto crypto = env.crypto(move, 4096);
        EncryptingS3Client s3 =
            S3TestEnv.client(crypto, "t", client(proxy.secretAccessKey())).build()) {
      assertEquals(
          501,
          assertThrows(
                  S3Exception.class,
                  () -> raw.getObjectTagging(r -> r.bucket(bucket).key("absent")))
              .statusCode(),
          "the store has no object tagging");
      s3.putObject(
          r -> r.bucket(bucket).key("p/small").metadata(Map.of("a", "1")),
          RequestBody.fromBytes(small));
      s3.putObject(r -> r.bucket(bucket).key("p/large"), RequestBody.fromBytes(large));
      assertArrayEquals(
          small, s3.getObjectAsBytes(r -> r.bucket(bucket).key("p/small")).asByteArray());
      assertArrayEquals(
          Arrays.copyOfRange(large, 70_000, 90_001),
          s3.getObjectAsBytes(r -> r.bucket(bucket).key("p/large").range("bytes=70000-90000"))
              .asByteArray());

      s3.copyObject(
          r ->
              r.sourceBucket(bucket)
                  .sourceKey("p/large")
                  .destinationBucket(bucket)
                  .destinationKey("p/large-copy"));
      assertArrayEquals(
          large, s3.getObjectAsBytes(r -> r.bucket(bucket).key("p/large-copy")).asByteArray());

      move.moveToNewCmk();
      RewrapResult result = s3.rewrapPrefix(bucket, "p/", RewrapListener.none());
      assertTrue(result.complete(), "failed: " + result.failedKeys());
      assertEquals(3, result.rewrapped());
    }
    env.kms.disableKey(move.oldCmk);
    try (PanopsCrypto fresh = env.crypto(id -> TenantKeys.of(move.newCmk), 4096);
        EncryptingS3Client s3 =
            S3TestEnv.client(fresh, "t", client(proxy.secretAccessKey())).build()) {
      ResponseBytes<GetObjectResponse> got =
          s3.getObjectAsBytes(r -> r.bucket(bucket).key("p/small"));
      assertArrayEquals(small, got.asByteArray());
      assertEquals(Map.of("a", "1"), got.response().metadata());
      assertArrayEquals(
          large, s3.getObjectAsBytes(r -> r.bucket(bucket).key("p/large")).asByteArray());
      assertArrayEquals(
          large, s3.getObjectAsBytes(r -> r.bucket(bucket).key("p/large-copy")).asByteArray());
    }
  }
}
