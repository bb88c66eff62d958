package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

class RoundTripIT {
  private static S3TestEnv env;
  private static PanopsCrypto crypto;
  private static String cmk;
  private static EncryptingS3Client s3;
  private static String bucket;

  @BeforeAll
  static void start() {
    env = S3TestEnv.get();
    cmk = env.freshKey();
    crypto = env.crypto("acme", cmk);
    s3 = env.client(crypto, "acme").serverSideLayer(ServerSideLayer.SSE_KMS).build();
    bucket = env.freshBucket();
  }

  @AfterAll
  static void stop() {
    s3.close();
    crypto.close();
  }

  @ParameterizedTest(name = "{0} bytes")
  @ValueSource(ints = {0, 1, 4095, 4096, 4097, 65_536, 1_048_583, 17 * 1024 * 1024 + 3})
  void putThenGet_ofAnySize_returnsTheSameBytes_andStoresNoPlaintext(int size) throws Exception {
    byte[] body = S3TestEnv.bytes(size, size);
    String key = "rt/" + size;
    s3.putObject(
        PutObjectRequest.builder().bucket(bucket).key(key).contentType("text/plain").build(),
        RequestBody.fromBytes(body));

    ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(r -> r.bucket(bucket).key(key));
    assertArrayEquals(body, got.asByteArray());
    assertEquals(size, got.response().contentLength());
    assertEquals("text/plain", got.response().contentType());

    byte[] stored = env.raw.getObjectAsBytes(r -> r.bucket(bucket).key(key)).asByteArray();
    assertTrue(stored.length > size, "stored object is the framed message");
    if (size >= 16) {
      assertFalse(contains(stored, java.util.Arrays.copyOf(body, 16)), "no plaintext stored");
    }
  }

  @ParameterizedTest(name = "{0} bytes")
  @ValueSource(ints = {0, 10, 5 * 1024 * 1024, 9 * 1024 * 1024 + 1, 20 * 1024 * 1024 + 5})
  void putFromStreamOfUnknownLength_thenGet_returnsTheSameBytes(int size) throws Exception {
    String key = "stream/" + size;
    s3.putObject(
        PutObjectRequest.builder().bucket(bucket).key(key).build(), new PatternStream(size, size));
    try (ResponseInputStream<GetObjectResponse> in = s3.getObject(r -> r.bucket(bucket).key(key))) {
      assertEquals(S3TestEnv.sha256(new PatternStream(size, size)), S3TestEnv.sha256(in));
      assertEquals(size, in.response().contentLength());
    }
    HeadObjectResponse head = s3.headObject(r -> r.bucket(bucket).key(key));
    assertEquals(size, head.contentLength());
    assertNull(head.metadata().get("panops-plaintext-length"), "adapter metadata is not shown");
  }

  @Test
  void headObject_reportsThePlaintextLength_andTheUserMetadata() {
    byte[] body = S3TestEnv.bytes(7, 10_000);
    s3.putObject(
        r -> r.bucket(bucket).key("head").metadata(Map.of("owner", "team-a")),
        RequestBody.fromBytes(body));
    HeadObjectResponse head = s3.headObject(r -> r.bucket(bucket).key("head"));
    assertEquals(10_000L, head.contentLength());
    assertEquals(Map.of("owner", "team-a"), head.metadata());
    HeadObjectResponse stored = env.raw.headObject(r -> r.bucket(bucket).key("head"));
    assertTrue(stored.contentLength() > 10_000L);
    assertEquals("1", stored.metadata().get("panops-format"));
  }

  @Test
  void sseKms_storesTheObjectUnderTheTenantsCmk() {
    s3.putObject(r -> r.bucket(bucket).key("sse"), RequestBody.fromString("hello"));
    HeadObjectResponse stored = env.raw.headObject(r -> r.bucket(bucket).key("sse"));
    assertEquals(ServerSideEncryption.AWS_KMS, stored.serverSideEncryption());
    assertEquals(cmk, env.kmsKeyIds.sent.get("/sse"), "the adapter sent the ARN");
    assertTrue(cmk.endsWith("/" + stored.ssekmsKeyId()), "S3Mock stored its bare key id");
  }

  @Test
  void perRequestKeyContextAndAad_mustBeGivenAgainToRead() {
    KeyContext kc = KeyContext.of("class", "mail");
    MessageAad rev = MessageAad.of("rev", "7");
    s3.putObject(S3TestEnv.putWith(bucket, "ctx", kc, rev), RequestBody.fromString("secret"));
    assertEquals(
        "secret", s3.getObjectAsBytes(S3TestEnv.getWith(bucket, "ctx", kc, rev)).asUtf8String());
    assertThrows(
        S3IntegrityException.class,
        () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("ctx")),
        "default key context and no extra AAD");
    assertThrows(
        S3IntegrityException.class,
        () -> s3.getObjectAsBytes(S3TestEnv.getWith(bucket, "ctx", kc, MessageAad.of("rev", "6"))));
  }

  @Test
  void deleteAndList_passThrough() {
    s3.putObject(r -> r.bucket(bucket).key("list/a"), RequestBody.fromString("a"));
    s3.putObject(r -> r.bucket(bucket).key("list/b"), RequestBody.fromString("b"));
    List<String> keys =
        s3.listObjectsV2(r -> r.bucket(bucket).prefix("list/")).contents().stream()
            .map(S3Object::key)
            .collect(Collectors.toList());
    assertEquals(List.of("list/a", "list/b"), keys);
    s3.deleteObject(r -> r.bucket(bucket).key("list/a"));
    assertThrows(
        NoSuchKeyException.class, () -> s3.headObject(r -> r.bucket(bucket).key("list/a")));
  }

  @Test
  void plaintextObject_isRefusedByDefault_andReadableWithLegacyOptIn() {
    env.raw.putObject(r -> r.bucket(bucket).key("legacy"), RequestBody.fromString("old data"));
    assertThrows(
        S3EncryptionException.class,
        () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("legacy")));
    assertThrows(
        S3EncryptionException.class,
        () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("legacy").range("bytes=0-2")));
    assertThrows(
        S3EncryptionException.class, () -> s3.headObject(r -> r.bucket(bucket).key("legacy")));
    try (EncryptingS3Client legacy =
        env.client(crypto, "acme").allowLegacyPlaintextReads().build()) {
      assertEquals(
          "old data", legacy.getObjectAsBytes(r -> r.bucket(bucket).key("legacy")).asUtf8String());
      assertEquals(
          "old",
          legacy
              .getObjectAsBytes(r -> r.bucket(bucket).key("legacy").range("bytes=0-2"))
              .asUtf8String());
    }
  }

  @Test
  void reservedMetadataAndPlaintextChecksums_areRefused() {
    assertThrows(
        IllegalArgumentException.class,
        () ->
            s3.putObject(
                r -> r.bucket(bucket).key("x").metadata(Map.of("panops-format", "1")),
                RequestBody.fromString("x")));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            s3.putObject(
                r -> r.bucket(bucket).key("x").contentMD5("1B2M2Y8AsgTpgAmY7PhCfg=="),
                RequestBody.fromString("x")));
    assertThrows(
        S3EncryptionException.class,
        () -> s3.createMultipartUpload(r -> r.bucket(bucket).key("x")));
  }

  @Test
  void declaredLengthThatTheBodyDoesNotHave_failsAndStoresNothing() {
    InputStream shortBody = new ByteArrayInputStream(new byte[100]);
    assertThrows(
        Exception.class,
        () ->
            s3.putObject(
                r -> r.bucket(bucket).key("short"), RequestBody.fromInputStream(shortBody, 200)));
    assertThrows(
        NoSuchKeyException.class, () -> env.raw.headObject(r -> r.bucket(bucket).key("short")));
  }

  static boolean contains(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
