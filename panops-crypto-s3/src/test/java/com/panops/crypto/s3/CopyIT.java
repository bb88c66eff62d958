package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.panops.crypto.PanopsCrypto;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.MetadataDirective;

class CopyIT {
  @Test
  void copyObject_keepsTheObjectReadableAtItsNewKey_withMetadataAndTags() {
    S3TestEnv env = S3TestEnv.get();
    String bucket = env.freshBucket();
    String other = env.freshBucket();
    try (PanopsCrypto crypto = env.crypto("t", env.freshKey());
        EncryptingS3Client s3 = env.client(crypto, "t").build()) {
      byte[] body = S3TestEnv.bytes(3, 300_000);
      s3.putObject(
          r ->
              r.bucket(bucket)
                  .key("src")
                  .contentType("image/png")
                  .metadata(Map.of("a", "1"))
                  .tagging("k=v"),
          RequestBody.fromBytes(body));

      s3.copyObject(
          r ->
              r.sourceBucket(bucket)
                  .sourceKey("src")
                  .destinationBucket(other)
                  .destinationKey("dst"));
      ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(r -> r.bucket(other).key("dst"));
      assertArrayEquals(body, got.asByteArray());
      assertEquals("image/png", got.response().contentType());
      assertEquals(Map.of("a", "1"), got.response().metadata());
      assertEquals(
          "k", env.raw.getObjectTagging(r -> r.bucket(other).key("dst")).tagSet().get(0).key());

      s3.copyObject(
          r ->
              r.sourceBucket(bucket)
                  .sourceKey("src")
                  .destinationBucket(bucket)
                  .destinationKey("replaced")
                  .metadataDirective(MetadataDirective.REPLACE)
                  .metadata(Map.of("b", "2"))
                  .contentType("text/plain"));
      ResponseBytes<GetObjectResponse> rep =
          s3.getObjectAsBytes(r -> r.bucket(bucket).key("replaced"));
      assertArrayEquals(body, rep.asByteArray());
      assertEquals(Map.of("b", "2"), rep.response().metadata());
      assertEquals("text/plain", rep.response().contentType());
    }
  }
}
