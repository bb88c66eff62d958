package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;

/** Customer key migration: re-wrap a prefix to a new CMK, then disable the old one. */
class RewrapIT {
  @Test
  void rewrapOfAPrefixToANewCmk_thenDisablingTheOldCmk_leavesEveryObjectReadable()
      throws Exception {
    S3TestEnv env = S3TestEnv.get();
    CmkMove move = CmkMove.betweenFreshKeys(env);
    String oldCmk = move.oldCmk;
    String newCmk = move.newCmk;
    String bucket = env.freshBucket();
    TenantDirectory dir = id -> id.equals("t") ? move.keysOf(id) : null;

    Map<String, byte[]> objects = new LinkedHashMap<>();
    try (PanopsCrypto crypto = env.crypto(dir, 4096);
        EncryptingS3Client s3 =
            env.client(crypto, "t")
                .serverSideLayer(ServerSideLayer.SSE_KMS)
                .multipartThreshold(5L * 1024 * 1024)
                .multipartPartSize(5L * 1024 * 1024)
                .build()) {
      for (int size : new int[] {0, 1, 4096, 100_000, 11 * 1024 * 1024 + 5}) {
        String key = "p/obj-" + size;
        byte[] body = S3TestEnv.bytes(size + 1, size);
        s3.putObject(
            r ->
                r.bucket(bucket)
                    .key(key)
                    .contentType("application/x-test")
                    .metadata(Map.of("owner", "o-" + size))
                    .tagging("class=mail"),
            RequestBody.fromBytes(body));
        objects.put(key, body);
      }
      env.raw.putObject(r -> r.bucket(bucket).key("p/plain.txt"), RequestBody.fromString("plain"));
      s3.putObject(r -> r.bucket(bucket).key("q/outside"), RequestBody.fromString("outside"));

      // the customer creates a new CMK; the directory now encrypts under it
      move.moveToNewCmk();

      // a first run that got as far as one object (then, say, the process died)
      assertEquals(RewrapOutcome.REWRAPPED, s3.rewrapObject(bucket, "p/obj-4096"));

      List<RewrapListener.RewrapEvent> events = new ArrayList<>();
      RewrapResult result = s3.rewrapPrefix(bucket, "p/", events::add);
      assertEquals(6, result.examined());
      assertEquals(4, result.rewrapped());
      assertEquals(1, result.alreadyCurrent(), "the resumed run skips the object done before");
      assertEquals(1, result.notEncrypted());
      assertTrue(result.complete(), "failed: " + result.failedKeys());
      assertEquals(6, events.size());
      assertEquals(6, events.get(5).examined());

      // a second run has nothing left to do
      RewrapResult again = s3.rewrapPrefix(bucket, "p/", RewrapListener.none());
      assertEquals(0, again.rewrapped());
      assertEquals(5, again.alreadyCurrent());

      HeadObjectResponse stored = env.raw.headObject(r -> r.bucket(bucket).key("p/obj-100000"));
      assertTrue(newCmk.endsWith("/" + stored.ssekmsKeyId()), "SSE-KMS moved to the new CMK");
    }

    // the customer disables the old CMK; a fresh process knows only the new one
    env.kms.disableKey(oldCmk);
    AtomicReference<TenantKeys> onlyNew = new AtomicReference<>(TenantKeys.of(newCmk));
    try (PanopsCrypto fresh = env.crypto(id -> onlyNew.get(), 4096);
        EncryptingS3Client s3 = env.client(fresh, "t").build()) {
      for (Map.Entry<String, byte[]> e : objects.entrySet()) {
        ResponseBytes<GetObjectResponse> got =
            s3.getObjectAsBytes(r -> r.bucket(bucket).key(e.getKey()));
        assertArrayEquals(e.getValue(), got.asByteArray(), e.getKey());
        assertEquals("application/x-test", got.response().contentType());
        assertEquals(Map.of("owner", "o-" + e.getValue().length), got.response().metadata());
        assertEquals(
            "class",
            env.raw.getObjectTagging(r -> r.bucket(bucket).key(e.getKey())).tagSet().get(0).key(),
            "tags kept");
        if (e.getValue().length > 10) {
          byte[] part =
              s3.getObjectAsBytes(r -> r.bucket(bucket).key(e.getKey()).range("bytes=3-9"))
                  .asByteArray();
          assertArrayEquals(java.util.Arrays.copyOfRange(e.getValue(), 3, 10), part);
        }
      }
      // an object outside the prefix was not migrated: under the disabled key it is unreadable
      assertThrows(
          S3IntegrityException.class,
          () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("q/outside")));
    }
  }
}
