package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.BucketVersioningStatus;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ObjectVersion;

/** What makes "disable the old CMK once the re-wrap completes" safe. */
class RewrapMigrationIT {
  private final S3TestEnv env = S3TestEnv.get();
  private final CmkMove move = CmkMove.betweenFreshKeys(env);
  private final String bucket = env.freshBucket();

  private static String cmkOf(S3TestEnv env, String bucket, String key) {
    byte[] prefix =
        env.raw
            .getObjectAsBytes(r -> r.bucket(bucket).key(key).range("bytes=0-16383"))
            .asByteArray();
    return com.panops.crypto.format.MessageHeader.parse(prefix, 0, prefix.length).keyArn();
  }

  @Test
  void aWriterStillOnTheOldCmk_behindTheCursor_makesTheRunIncomplete_andNamesTheObject() {
    try (PanopsCrypto migrated = env.crypto(move, 4096);
        PanopsCrypto stale = env.crypto("t", move.oldCmk); // a worker that has not seen the move
        EncryptingS3Client s3 = env.client(migrated, "t").build();
        EncryptingS3Client staleWriter = env.client(stale, "t").build()) {
      for (String k : new String[] {"p/a", "p/b", "p/c", "p/d"}) {
        s3.putObject(r -> r.bucket(bucket).key(k), RequestBody.fromString(k));
      }
      move.moveToNewCmk();
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
      assertEquals(move.newCmk, cmkOf(env, bucket, "p/a"));
      assertEquals("late", s3.getObjectAsBytes(r -> r.bucket(bucket).key("p/a")).asUtf8String());
    }
  }

  @Test
  void inAVersionedBucket_theNoncurrentVersionsUnderTheOldCmk_areListed_untilDeleted() {
    env.raw.putBucketVersioning(
        r ->
            r.bucket(bucket)
                .versioningConfiguration(c -> c.status(BucketVersioningStatus.ENABLED)));
    try (PanopsCrypto crypto = env.crypto(move, 4096);
        EncryptingS3Client s3 = env.client(crypto, "t").build()) {
      s3.putObject(r -> r.bucket(bucket).key("v/x"), RequestBody.fromString("x"));
      move.moveToNewCmk();
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
    byte[] body = S3TestEnv.bytes(5, 50_000);
    try (PanopsCrypto crypto = env.crypto(move, 4096);
        EncryptingS3Client writer =
            env.client(crypto, "t").serverSideLayer(ServerSideLayer.SSE_KMS).build();
        EncryptingS3Client migrator = env.client(crypto, "t").build()) {
      writer.putObject(r -> r.bucket(bucket).key("s/1"), RequestBody.fromBytes(body));
      HeadObjectResponse before = env.raw.headObject(r -> r.bucket(bucket).key("s/1"));
      assertTrue(move.oldCmk.endsWith(before.ssekmsKeyId()), before.ssekmsKeyId());

      move.moveToNewCmk();
      assertTrue(migrator.rewrapPrefix(bucket, "s/", RewrapListener.none()).complete());
      HeadObjectResponse after = env.raw.headObject(r -> r.bucket(bucket).key("s/1"));
      assertTrue(move.newCmk.endsWith(after.ssekmsKeyId()), "SSE moved: " + after.ssekmsKeyId());
      assertArrayEquals(
          body, migrator.getObjectAsBytes(r -> r.bucket(bucket).key("s/1")).asByteArray());
    }
  }

  /**
   * Dual-layer SSE-KMS (DSSE) under the old CMK, by request: the re-wrap moves it to the new CMK as
   * DSSE (never downgraded to single-layer, never left under the old key), a second run finds
   * nothing to do, and the end-of-run check names a DSSE object still under the old key at rest
   * even when our header already names the new CMK.
   */
  @Test
  void
      dualLayerSseUnderTheOldCmk_movesToTheNewOne_asDualLayer_andTheEndOfRunCheckSeesS3sEncryption() {
    DsseReportingStore store = new DsseReportingStore();
    byte[] body = S3TestEnv.bytes(6, 30_000);
    software.amazon.awssdk.services.s3.S3Client raw = env.s3Client(store).build();
    try (PanopsCrypto crypto = env.crypto(move, 4096);
        EncryptingS3Client s3 = S3TestEnv.client(crypto, "t", raw).build()) {
      for (String k : new String[] {"d/1", "d/2"}) {
        s3.putObject(
            r ->
                r.bucket(bucket)
                    .key(k)
                    .serverSideEncryption(
                        software.amazon.awssdk.services.s3.model.ServerSideEncryption.AWS_KMS_DSSE)
                    .ssekmsKeyId(move.oldCmk),
            RequestBody.fromBytes(body));
      }
      HeadObjectResponse before = raw.headObject(r -> r.bucket(bucket).key("d/1"));
      assertEquals(
          "aws:kms:dsse",
          before.serverSideEncryptionAsString(),
          "the double reports DSSE: " + store.asked + " " + store.dsse);
      assertTrue(move.oldCmk.endsWith(before.ssekmsKeyId()), before.ssekmsKeyId());

      move.moveToNewCmk();
      RewrapResult result = s3.rewrapPrefix(bucket, "d/", RewrapListener.none());
      assertEquals(2, result.rewrapped());
      assertTrue(result.complete(), result.toString());
      for (String k : new String[] {"d/1", "d/2"}) {
        HeadObjectResponse after = raw.headObject(r -> r.bucket(bucket).key(k));
        assertEquals("aws:kms:dsse", after.serverSideEncryptionAsString(), k + ": still DSSE");
        assertTrue(
            move.newCmk.endsWith(after.ssekmsKeyId()), k + " at rest: " + after.ssekmsKeyId());
        assertEquals(move.newCmk, cmkOf(env, bucket, k));
        assertArrayEquals(body, s3.getObjectAsBytes(r -> r.bucket(bucket).key(k)).asByteArray());
      }
      RewrapResult again = s3.rewrapPrefix(bucket, "d/", RewrapListener.none());
      assertEquals(0, again.rewrapped());
      assertEquals(2, again.alreadyCurrent());

      // Our header on the new CMK, S3 holding it as DSSE under the old one (written so behind the
      // cursor during a run, by a writer whose SSE setting still names the old key): the
      // end-of-run check names it, and the next run moves it.
      RewrapResult third =
          s3.rewrapPrefix(
              bucket,
              "d/",
              e -> {
                if (e.key().equals("d/2")) {
                  s3.putObject(
                      r ->
                          r.bucket(bucket)
                              .key("d/0")
                              .serverSideEncryption(
                                  software.amazon.awssdk.services.s3.model.ServerSideEncryption
                                      .AWS_KMS_DSSE)
                              .ssekmsKeyId(move.oldCmk),
                      RequestBody.fromBytes(body));
                }
              });
      assertEquals(move.newCmk, cmkOf(env, bucket, "d/0"));
      assertEquals(List.of("d/0"), third.stillUnderOldKeys(), third.toString());
      assertFalse(third.complete());
      RewrapResult fourth = s3.rewrapPrefix(bucket, "d/", RewrapListener.none());
      assertEquals(1, fourth.rewrapped(), fourth.toString());
      assertTrue(fourth.complete(), fourth.toString());
      HeadObjectResponse moved = raw.headObject(r -> r.bucket(bucket).key("d/0"));
      assertEquals("aws:kms:dsse", moved.serverSideEncryptionAsString());
      assertTrue(move.newCmk.endsWith(moved.ssekmsKeyId()), moved.ssekmsKeyId());
    }
  }
}
