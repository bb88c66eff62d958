package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * Someone with write access to the bucket (but not to the tenant's CMK) moves, swaps, rolls back or
 * edits stored objects: every such change fails to read, and releases no plaintext.
 */
class TamperIT {
  private static final int F = 4096;
  private static S3TestEnv env;
  private static PanopsCrypto crypto;
  private static EncryptingS3Client s3;
  private static String bucket;
  private static String otherBucket;

  @BeforeAll
  static void start() {
    env = S3TestEnv.get();
    crypto = env.crypto("t", env.freshKey());
    s3 = env.client(crypto, "t").build();
    bucket = env.freshBucket();
    otherBucket = env.freshBucket();
  }

  @AfterAll
  static void stop() {
    s3.close();
    crypto.close();
  }

  private static byte[] put(String b, String key, int size) {
    byte[] body = S3TestEnv.bytes(key.hashCode(), size);
    s3.putObject(r -> r.bucket(b).key(key), RequestBody.fromBytes(body));
    return body;
  }

  /** Reads through the encrypting client; returns the plaintext bytes released before a failure. */
  private static byte[] readUntilFailure(
      String b, String key, Class<? extends Exception> expected) {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    try (InputStream in = s3.getObject(r -> r.bucket(b).key(key))) {
      byte[] buf = new byte[1024];
      int n;
      while ((n = in.read(buf)) > 0) {
        got.write(buf, 0, n);
      }
    } catch (Exception e) {
      if (!expected.isInstance(e)) {
        throw new AssertionError("expected " + expected.getSimpleName() + " but got " + e, e);
      }
      return got.toByteArray();
    }
    fail("read succeeded: " + got.size() + " bytes");
    return null;
  }

  /** Rewrites the stored object with {@code edit} applied to its bytes and metadata. */
  private static void tamper(
      String key, Consumer<byte[][]> editBytes, Consumer<Map<String, String>> editMeta) {
    ResponseBytes<GetObjectResponse> stored =
        env.raw.getObjectAsBytes(r -> r.bucket(bucket).key(key));
    byte[][] holder = {stored.asByteArray()};
    Map<String, String> md = new HashMap<>(stored.response().metadata());
    editBytes.accept(holder);
    editMeta.accept(md);
    env.raw.putObject(
        r -> r.bucket(bucket).key(key).metadata(md), RequestBody.fromBytes(holder[0]));
  }

  private static int headerLength(String key) {
    return Integer.parseInt(
        env.raw.headObject(r -> r.bucket(bucket).key(key)).metadata().get("panops-header-length"));
  }

  @Test
  void objectSwappedOverAnotherKey_failsToDecrypt() {
    put(bucket, "swap/a", 5000);
    byte[] b = put(bucket, "swap/b", 5000);
    // the attacker copies a's stored bytes and metadata over b, server-side
    env.raw.copyObject(
        r ->
            r.sourceBucket(bucket)
                .sourceKey("swap/a")
                .destinationBucket(bucket)
                .destinationKey("swap/b"));
    byte[] released = readUntilFailure(bucket, "swap/b", S3IntegrityException.class);
    assertEquals(0, released.length);
    assertFalse(Arrays.equals(b, released));
    assertThrows(
        S3IntegrityException.class,
        () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("swap/b").range("bytes=10-20")));
  }

  @Test
  void objectCopiedToAnotherBucketUnderTheSameKey_failsToDecrypt() {
    put(bucket, "same-key", 3000);
    env.raw.copyObject(
        r ->
            r.sourceBucket(bucket)
                .sourceKey("same-key")
                .destinationBucket(otherBucket)
                .destinationKey("same-key"));
    assertEquals(0, readUntilFailure(otherBucket, "same-key", S3IntegrityException.class).length);
  }

  @Test
  void olderVersionRestoredOverANewerOne_failsWhenTheReaderNamesTheRevision() {
    // the application keeps a revision counter and binds it as extra AAD
    KeyContext kc = KeyContext.of("service", "s3");
    s3.putObject(
        S3TestEnv.putWith(bucket, "doc", kc, MessageAad.of("rev", "1")),
        RequestBody.fromString("version one"));
    ResponseBytes<GetObjectResponse> v1 =
        env.raw.getObjectAsBytes(r -> r.bucket(bucket).key("doc"));
    s3.putObject(
        S3TestEnv.putWith(bucket, "doc", kc, MessageAad.of("rev", "2")),
        RequestBody.fromString("version two"));
    env.raw.putObject(
        r -> r.bucket(bucket).key("doc").metadata(v1.response().metadata()),
        RequestBody.fromBytes(v1.asByteArray()));
    assertThrows(
        S3IntegrityException.class,
        () -> s3.getObjectAsBytes(S3TestEnv.getWith(bucket, "doc", kc, MessageAad.of("rev", "2"))));
  }

  @Test
  void flippedByteAnywhereInASingleFrameObject_failsWithZeroPlaintext() {
    byte[] plain = put(bucket, "flip", 3000);
    int h = headerLength("flip");
    int total = h + plain.length + 16;
    // version, suite, frame size, message id, commitment, key context; then frame and tag bytes
    int[] positions = {0, 1, 3, 10, 30, 55, h, h + 1500, total - 16, total - 1};
    for (int pos : positions) {
      put(bucket, "flip", 3000);
      tamper("flip", b -> b[0][pos] ^= 0x40, md -> {});
      byte[] released = readUntilFailure(bucket, "flip", S3IntegrityException.class);
      assertEquals(0, released.length, "byte " + pos);
    }
  }

  @Test
  void tamperedEncryptedDataKey_failsClosedWithZeroPlaintext_andTheTenantRecoversWithinAProbe()
      throws Exception {
    put(bucket, "edk", 3000);
    int h = headerLength("edk");
    tamper("edk", b -> b[0][h - 1] ^= 0x01, md -> {});
    // KMS refuses the altered data key: the core treats any Decrypt failure as a revocation signal
    // (fail closed) and probes the key at once, which lifts the latch
    ByteArrayOutputStream released = new ByteArrayOutputStream();
    Exception e =
        assertThrows(
            Exception.class,
            () ->
                released.write(
                    s3.getObjectAsBytes(r -> r.bucket(bucket).key("edk")).asByteArray()));
    assertTrue(
        e instanceof S3IntegrityException || e instanceof S3KeyRevokedException, e.toString());
    assertEquals(0, released.size());
    awaitUsable("tamper/recovered");
  }

  /** Waits (bounded by a probe interval and slack) until the tenant's key serves writes again. */
  private static void awaitUsable(String key) throws InterruptedException {
    long deadline = System.nanoTime() + S3TestEnv.PROBE.plusMillis(1500).toNanos();
    while (true) {
      try {
        s3.putObject(r -> r.bucket(bucket).key(key), RequestBody.fromString("ok"));
        return;
      } catch (S3KeyRevokedException latched) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("key still latched after a probe interval", latched);
        }
        Thread.sleep(20);
      }
    }
  }

  @Test
  void truncatedOrExtendedObject_failsAndReleasesOnlyVerifiedFrames() {
    byte[] plain = put(bucket, "trunc", 5 * F);
    int h = headerLength("trunc");
    // drop the last frame (the object then ends on a frame that is not marked final)
    tamper(
        "trunc",
        b -> b[0] = Arrays.copyOf(b[0], h + 4 * (F + 16)),
        md -> md.remove("panops-plaintext-length"));
    byte[] released = readUntilFailure(bucket, "trunc", S3IntegrityException.class);
    assertArrayEquals(Arrays.copyOf(plain, released.length), released, "only verified bytes");
    assertEquals(0, released.length % F);

    put(bucket, "ext", 5 * F);
    tamper(
        "ext",
        b -> b[0] = Arrays.copyOf(b[0], b[0].length + 16),
        md -> md.remove("panops-plaintext-length"));
    assertThrows(
        S3IntegrityException.class, () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("ext")));
  }

  @Test
  void tamperedMetadata_failsBeforeAnyByteIsRead() {
    put(bucket, "meta", 5 * F + 7);
    Map<String, Consumer<Map<String, String>>> edits =
        Map.of(
            "plaintext length", md -> md.put("panops-plaintext-length", "20488"),
            "header length", md -> md.put("panops-header-length", "200"),
            "frame size", md -> md.put("panops-frame-size", "8192"),
            "format", md -> md.put("panops-format", "2"),
            "garbage", md -> md.put("panops-header-length", "-1"));
    for (Map.Entry<String, Consumer<Map<String, String>>> e : edits.entrySet()) {
      put(bucket, "meta", 5 * F + 7);
      tamper("meta", b -> {}, e.getValue());
      assertThrows(
          S3IntegrityException.class,
          () -> s3.getObject(r -> r.bucket(bucket).key("meta")),
          e.getKey());
      assertThrows(
          S3IntegrityException.class,
          () -> s3.getObject(r -> r.bucket(bucket).key("meta").range("bytes=0-10")),
          e.getKey());
    }
    put(bucket, "meta", 5 * F + 7);
    tamper("meta", b -> {}, md -> md.put("panops-plaintext-length", "1"));
    assertThrows(
        S3IntegrityException.class, () -> s3.headObject(r -> r.bucket(bucket).key("meta")));
  }

  @Test
  void removedMarker_isRefusedAsPlaintext_andLegacyReadsGetOnlyCiphertext() {
    byte[] plain = put(bucket, "nomarker", 2000);
    tamper("nomarker", b -> {}, Map::clear);
    assertEquals(0, readUntilFailure(bucket, "nomarker", S3EncryptionException.class).length);
    try (EncryptingS3Client legacy = env.client(crypto, "t").allowLegacyPlaintextReads().build()) {
      byte[] got = legacy.getObjectAsBytes(r -> r.bucket(bucket).key("nomarker")).asByteArray();
      assertFalse(RoundTripIT.contains(got, Arrays.copyOf(plain, 16)), "still ciphertext");
    }
  }

  @Test
  void otherTenantsClient_cannotReadTheObject() {
    put(bucket, "tenant-a", 100);
    try (PanopsCrypto other = env.crypto("u", env.freshKey());
        EncryptingS3Client u = env.client(other, "u").build()) {
      assertThrows(
          S3IntegrityException.class,
          () -> u.getObjectAsBytes(r -> r.bucket(bucket).key("tenant-a")));
    }
  }

  @Test
  void getObjectToAFile_leavesNoFileAndNoPartialPlaintext_whenALaterFrameIsTampered(
      @TempDir Path dir) throws Exception {
    byte[] body = put(bucket, "to-file", 10 * F + 123);
    int h = headerLength("to-file");
    tamper("to-file", b -> b[0][h + 8 * (F + 16) + 5] ^= 1, md -> {}); // inside the 9th frame
    Path file = dir.resolve("out.bin");
    assertThrows(
        S3IntegrityException.class,
        () -> s3.getObject(GetObjectRequest.builder().bucket(bucket).key("to-file").build(), file));
    assertFalse(Files.exists(file), "no file at the destination");
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(List.of(), left.collect(Collectors.toList()), "no temporary file left either");
    }
    // an intact object lands whole; an existing file is not overwritten
    byte[] ok = put(bucket, "to-file-ok", 3 * F + 1);
    s3.getObject(GetObjectRequest.builder().bucket(bucket).key("to-file-ok").build(), file);
    assertArrayEquals(ok, Files.readAllBytes(file));
    assertThrows(
        SdkClientException.class,
        () ->
            s3.getObject(
                GetObjectRequest.builder().bucket(bucket).key("to-file-ok").build(), file));
    assertFalse(Arrays.equals(body, ok));
  }

  /**
   * Another process creates the destination while the object downloads (here: as S3's answer
   * arrives). The destination was claimed first, so that create fails, as it would against the
   * SDK's own file transformer; a process that instead writes into the claimed file keeps what it
   * wrote, and the download fails with the SDK's exception, leaving no temporary file. Before, the
   * final move replaced whatever was there.
   */
  @Test
  void getObjectToAFile_neverReplacesAFileCreatedOrWrittenDuringTheDownload(@TempDir Path dir)
      throws Exception {
    byte[] body = put(bucket, "raced-file", 3 * F + 7);
    Path file = dir.resolve("raced.bin");
    List<String> theirCreate = new java.util.concurrent.CopyOnWriteArrayList<>();
    software.amazon.awssdk.core.interceptor.ExecutionInterceptor otherProcess =
        new software.amazon.awssdk.core.interceptor.ExecutionInterceptor() {
          @Override
          public void afterTransmission(
              software.amazon.awssdk.core.interceptor.Context.AfterTransmission c,
              software.amazon.awssdk.core.interceptor.ExecutionAttributes a) {
            if (c.httpRequest().method() != software.amazon.awssdk.http.SdkHttpMethod.GET
                || !theirCreate.isEmpty()) {
              return;
            }
            try {
              Files.write(file, "theirs".getBytes(), java.nio.file.StandardOpenOption.CREATE_NEW);
              theirCreate.add("created");
            } catch (java.nio.file.FileAlreadyExistsException e) {
              theirCreate.add("refused");
              try {
                Files.write(file, "theirs".getBytes()); // a writer that does not insist on new
              } catch (java.io.IOException again) {
                throw new java.io.UncheckedIOException(again);
              }
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          }
        };
    try (EncryptingS3Client raced = env.client(crypto, "t", otherProcess).build()) {
      SdkClientException e =
          assertThrows(
              SdkClientException.class,
              () ->
                  raced.getObject(
                      GetObjectRequest.builder().bucket(bucket).key("raced-file").build(), file));
      assertTrue(
          e.getCause() instanceof java.nio.file.FileAlreadyExistsException,
          "the SDK's cause for an existing file: " + e.getCause());
    }
    assertEquals(List.of("refused"), theirCreate, "their create-new failed: the path was claimed");
    assertArrayEquals("theirs".getBytes(), Files.readAllBytes(file), "their file is left as it is");
    try (Stream<Path> left = Files.list(dir)) {
      assertEquals(List.of(file), left.collect(Collectors.toList()), "no temporary file left");
    }
    // and the plain SDK reports an existing destination with the same cause
    Files.delete(file);
    Files.write(file, "theirs".getBytes());
    SdkClientException sdk =
        assertThrows(
            SdkClientException.class,
            () ->
                env.raw.getObject(
                    GetObjectRequest.builder().bucket(bucket).key("raced-file").build(), file));
    SdkClientException ours =
        assertThrows(
            SdkClientException.class,
            () ->
                s3.getObject(
                    GetObjectRequest.builder().bucket(bucket).key("raced-file").build(), file));
    assertTrue(rootIsFileAlreadyExists(sdk), chain(sdk));
    assertTrue(rootIsFileAlreadyExists(ours), "as the SDK's own file transformer: " + chain(ours));
    assertFalse(Arrays.equals(body, Files.readAllBytes(file)));
  }

  private static boolean rootIsFileAlreadyExists(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    return root instanceof java.nio.file.FileAlreadyExistsException;
  }

  private static String chain(Throwable t) {
    StringBuilder b = new StringBuilder();
    for (; t != null; t = t.getCause()) {
      b.append(t.getClass().getName()).append(": ").append(t.getMessage()).append(" <- ");
    }
    return b.toString();
  }
}
