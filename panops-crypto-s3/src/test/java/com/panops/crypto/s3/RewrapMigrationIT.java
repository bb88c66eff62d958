package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.BucketVersioningStatus;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ObjectVersion;

/** What makes "disable the old CMK once the re-wrap completes" safe. */
class RewrapMigrationIT {
  private static String cmkOf(S3TestEnv env, String bucket, String key) {
    byte[] prefix =
        env.raw
            .getObjectAsBytes(r -> r.bucket(bucket).key(key).range("bytes=0-16383"))
            .asByteArray();
    return com.panops.crypto.TenantCrypto.parseHeader(prefix, 0, prefix.length).keyArn();
  }

  @Test
  void aWriterStillOnTheOldCmk_behindTheCursor_makesTheRunIncomplete_andNamesTheObject() {
    S3TestEnv env = S3TestEnv.get();
    String oldCmk = env.freshKey();
    String newCmk = env.freshKey();
    String bucket = env.freshBucket();
    AtomicReference<TenantKeys> keys = new AtomicReference<>(TenantKeys.of(oldCmk));
    TenantDirectory dir = id -> keys.get();
    try (PanopsCrypto migrated = env.crypto(dir, 4096);
        PanopsCrypto stale = env.crypto("t", oldCmk); // a worker that has not seen the move
        EncryptingS3Client s3 = env.client(migrated, "t").build();
        EncryptingS3Client staleWriter = env.client(stale, "t").build()) {
      for (String k : new String[] {"p/a", "p/b", "p/c", "p/d"}) {
        s3.putObject(r -> r.bucket(bucket).key(k), RequestBody.fromString(k));
      }
      keys.set(TenantKeys.of(newCmk, List.of(oldCmk)));
      RewrapResult result =
          s3.rewrapPrefix(
              bucket,
              "p/",
              e -> {
                if (e.key().equals("p/c")) {
                  staleWriter.putObject(
                      r -> r.bucket(bucket).key("p/a"), RequestBody.fromString("late"));
                }
              });
      assertEquals(4, result.rewrapped());
      assertEquals(List.of(), result.failedKeys());
      assertEquals(List.of("p/a"), result.stillUnderOldKeys());
      assertFalse(result.complete(), "not complete while p/a is under the old CMK");

      // resumed from a key: only what follows is examined
      RewrapResult tail = s3.rewrapPrefix(bucket, "p/", "p/b", RewrapListener.none());
      assertEquals(2, tail.examined());
      assertEquals(2, tail.alreadyCurrent());
      assertEquals("p/d", tail.lastKey());

      RewrapResult again = s3.rewrapPrefix(bucket, "p/", RewrapListener.none());
      assertEquals(1, again.rewrapped());
      assertTrue(again.complete(), again.toString());
      assertEquals(newCmk, cmkOf(env, bucket, "p/a"));
      assertEquals("late", s3.getObjectAsBytes(r -> r.bucket(bucket).key("p/a")).asUtf8String());
    }
  }

  @Test
  void inAVersionedBucket_theNoncurrentVersionsUnderTheOldCmk_areListed_untilDeleted() {
    S3TestEnv env = S3TestEnv.get();
    String oldCmk = env.freshKey();
    String newCmk = env.freshKey();
    String bucket = env.freshBucket();
    env.raw.putBucketVersioning(
        r ->
            r.bucket(bucket)
                .versioningConfiguration(c -> c.status(BucketVersioningStatus.ENABLED)));
    AtomicReference<TenantKeys> keys = new AtomicReference<>(TenantKeys.of(oldCmk));
    try (PanopsCrypto crypto = env.crypto(id -> keys.get(), 4096);
        EncryptingS3Client s3 = env.client(crypto, "t").build()) {
      s3.putObject(r -> r.bucket(bucket).key("v/x"), RequestBody.fromString("x"));
      keys.set(TenantKeys.of(newCmk, List.of(oldCmk)));
      RewrapResult result = s3.rewrapPrefix(bucket, "v/", RewrapListener.none());
      assertEquals(1, result.rewrapped());
      assertEquals(1, result.stillUnderOldKeys().size(), result.toString());
      assertTrue(result.stillUnderOldKeys().get(0).startsWith("v/x?versionId="));
      assertFalse(result.complete());

      for (ObjectVersion v :
          env.raw.listObjectVersions(r -> r.bucket(bucket).prefix("v/")).versions()) {
        if (!v.isLatest()) {
          env.raw.deleteObject(r -> r.bucket(bucket).key(v.key()).versionId(v.versionId()));
        }
      }
      RewrapResult after = s3.rewrapPrefix(bucket, "v/", RewrapListener.none());
      assertTrue(after.complete(), after.toString());
      assertEquals("x", s3.getObjectAsBytes(r -> r.bucket(bucket).key("v/x")).asUtf8String());
    }
  }

  @Test
  void sseKmsUnderTheOldCmk_movesToTheNewOne_evenWhenTheRewrappingClientDoesNotSetSse() {
    S3TestEnv env = S3TestEnv.get();
    String oldCmk = env.freshKey();
    String newCmk = env.freshKey();
    String bucket = env.freshBucket();
    AtomicReference<TenantKeys> keys = new AtomicReference<>(TenantKeys.of(oldCmk));
    byte[] body = S3TestEnv.bytes(5, 50_000);
    try (PanopsCrypto crypto = env.crypto(id -> keys.get(), 4096);
        EncryptingS3Client writer = env.client(crypto, "t").sseKms(true).build();
        EncryptingS3Client migrator = env.client(crypto, "t").build()) {
      writer.putObject(r -> r.bucket(bucket).key("s/1"), RequestBody.fromBytes(body));
      HeadObjectResponse before = env.raw.headObject(r -> r.bucket(bucket).key("s/1"));
      assertTrue(oldCmk.endsWith(before.ssekmsKeyId()), before.ssekmsKeyId());

      keys.set(TenantKeys.of(newCmk, List.of(oldCmk)));
      assertTrue(migrator.rewrapPrefix(bucket, "s/", RewrapListener.none()).complete());
      HeadObjectResponse after = env.raw.headObject(r -> r.bucket(bucket).key("s/1"));
      assertTrue(newCmk.endsWith(after.ssekmsKeyId()), "SSE moved: " + after.ssekmsKeyId());
      assertArrayEquals(
          body, migrator.getObjectAsBytes(r -> r.bucket(bucket).key("s/1")).asByteArray());
    }
  }
}
