package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkField;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectAnnotationRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/** Builder checks; nothing here contacts a server. */
class EncryptingS3ClientBuilderTest {
  private static final String ARN =
      "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000001";
  private static KmsClient kms;
  private static PanopsCrypto crypto;

  @BeforeAll
  static void setUp() {
    kms =
        KmsClient.builder()
            .region(Region.US_EAST_1)
            .endpointOverride(URI.create("https://127.0.0.1:1"))
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "b")))
            .build();
    crypto =
        PanopsCrypto.builder()
            .kmsClient(kms)
            .tenantDirectory(TenantDirectory.of(Map.of("t", TenantKeys.of(ARN))))
            .build();
  }

  @AfterAll
  static void tearDown() {
    crypto.close();
    kms.close();
  }

  /** A builder of an encrypting client for tenant "t" over a plain client of the endpoint. */
  private static EncryptingS3Client.Builder forTenantT(String endpoint) {
    return EncryptingS3Client.builder().s3Client(s3(endpoint)).crypto(crypto).tenant("t");
  }

  private static S3Client s3(String endpoint) {
    return S3Client.builder()
        .region(Region.US_EAST_1)
        .endpointOverride(URI.create(endpoint))
        .forcePathStyle(true)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "b")))
        .build();
  }

  @Test
  void httpEndpoint_isRefusedWithoutTheLocalTestOptIn() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> forTenantT("http://127.0.0.1:9090").build());
    assertTrue(e.getMessage().contains("allowInsecureLocalS3Endpoint"));
  }

  @Test
  void httpEndpoint_isAcceptedWithTheOptIn_onlyOnLoopback() {
    assertNotNull(forTenantT("http://127.0.0.1:9090").allowInsecureLocalS3Endpoint().build());
    assertThrows(
        IllegalArgumentException.class,
        () -> forTenantT("http://s3.example.com").allowInsecureLocalS3Endpoint().build());
  }

  @Test
  void httpEndpoint_withTheOptIn_isRefusedWhenTheJvmsProxySettingsNameAProxyByName() {
    System.setProperty("http.proxyHost", "proxy.example.com");
    try {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> forTenantT("http://127.0.0.1:9090").allowInsecureLocalS3Endpoint().build());
      assertTrue(e.getMessage().contains("http.proxyHost (proxy.example.com)"), e.getMessage());
      System.setProperty("http.proxyHost", "127.0.0.1");
      assertNotNull(
          forTenantT("http://127.0.0.1:9090").allowInsecureLocalS3Endpoint().build(),
          "a proxy at a literal loopback address is local");
    } finally {
      System.clearProperty("http.proxyHost");
    }
  }

  @Test
  void httpsEndpoint_andTheDefaultEndpoint_areAccepted() {
    assertNotNull(
        EncryptingS3Client.builder()
            .s3Client(s3("https://s3.example.com"))
            .tenantCrypto(crypto.tenant("t"))
            .build());
    assertNotNull(
        EncryptingS3Client.builder()
            .s3Client(
                S3Client.builder()
                    .region(Region.US_EAST_1)
                    .credentialsProvider(
                        StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "b")))
                    .build())
            .crypto(crypto)
            .tenant("t")
            .build());
  }

  @Test
  void missingOrConflictingSettings_failInBuild() {
    assertThrows(
        IllegalStateException.class,
        () -> EncryptingS3Client.builder().crypto(crypto).tenant("t").build());
    assertThrows(
        IllegalStateException.class,
        () -> EncryptingS3Client.builder().s3Client(s3("https://s3.example.com")).build());
    assertThrows(
        IllegalStateException.class,
        () -> forTenantT("https://s3.example.com").tenantCrypto(crypto.tenant("t")).build());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            EncryptingS3Client.builder()
                .s3Client(s3("https://s3.example.com"))
                .crypto(crypto)
                .tenant("nobody")
                .build());
    assertThrows(
        IllegalArgumentException.class,
        () -> EncryptingS3Client.builder().multipartPartSize(1024 * 1024));
    assertThrows(
        IllegalStateException.class,
        () ->
            forTenantT("https://s3.example.com")
                .multipartPartSize(128L * 1024 * 1024) // above the 100 MiB threshold
                .build());
  }

  @Test
  void operationsThatWouldBypassEncryption_areRefusedWithATypedError_beforeAnyRequest() {
    // the endpoint is a closed port: a request that got out would fail differently
    try (EncryptingS3Client c = forTenantT("https://127.0.0.1:1").build()) {
      S3OperationRefusedException rename =
          assertThrows(
              S3OperationRefusedException.class,
              () -> c.renameObject(r -> r.bucket("b").key("new").renameSource("b/old")));
      assertTrue(rename.getMessage().contains("copyObject"), rename.getMessage());
      assertThrows(
          S3OperationRefusedException.class,
          () ->
              c.writeGetObjectResponse(
                  r -> r.requestRoute("route").requestToken("token"),
                  RequestBody.fromString("plaintext")));
      assertThrows(
          S3OperationRefusedException.class,
          () ->
              c.putObjectAnnotation(
                  PutObjectAnnotationRequest.builder().bucket("b").key("k").build(),
                  RequestBody.fromString("plaintext")));
      assertThrows(
          S3OperationRefusedException.class,
          () -> c.createMultipartUpload(r -> r.bucket("b").key("k")));
    }
  }

  @Test
  void everyPrecomputedChecksumOfThePlaintext_isRefused_includingSha512Md5AndXxhash() {
    try (EncryptingS3Client c = forTenantT("https://127.0.0.1:1").build()) {
      int checked = 0;
      for (SdkField<?> f : PutObjectRequest.builder().build().sdkFields()) {
        if (!Checksums.isChecksumHeader(f)) {
          continue;
        }
        PutObjectRequest.Builder b = PutObjectRequest.builder().bucket("b").key("k");
        f.set(b, "AAAA");
        PutObjectRequest r = b.build();
        IllegalArgumentException e =
            assertThrows(
                IllegalArgumentException.class,
                () -> c.putObject(r, RequestBody.fromString("x")),
                f.memberName());
        assertTrue(e.getMessage().contains(f.memberName()), e.getMessage());
        checked++;
      }
      assertTrue(
          checked >= 10,
          "CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512, MD5, XXHASH*: " + checked);
      for (java.util.function.Consumer<PutObjectRequest.Builder> set :
          List.<java.util.function.Consumer<PutObjectRequest.Builder>>of(
              b -> b.checksumSHA512("x"),
              b -> b.checksumMD5("x"),
              b -> b.checksumXXHASH64("x"),
              b -> b.checksumXXHASH3("x"),
              b -> b.checksumXXHASH128("x"),
              b -> b.contentMD5("x"))) {
        PutObjectRequest.Builder b = PutObjectRequest.builder().bucket("b").key("k");
        set.accept(b);
        assertTrue(Checksums.firstSet(b.build()) != null);
      }
    }
  }

  @Test
  void responses_loseEveryChecksumOfTheStoredCiphertext() {
    GetObjectResponse.Builder b = GetObjectResponse.builder();
    for (SdkField<?> f : GetObjectResponse.builder().build().sdkFields()) {
      if (Checksums.isChecksumHeader(f)) {
        f.set(b, f.memberName().equals("ChecksumType") ? "FULL_OBJECT" : "AAAA");
      }
    }
    GetObjectResponse full = b.checksumSHA512("s").checksumXXHASH128("x").build();
    GetObjectResponse.Builder cleared = full.toBuilder();
    Checksums.clear(full, cleared);
    GetObjectResponse r = cleared.build();
    for (SdkField<?> f : r.sdkFields()) {
      if (f.memberName().startsWith("Checksum")) {
        assertEquals(null, f.getValueOrDefault(r), f.memberName());
      }
    }
    assertEquals(null, r.checksumMD5());
    assertEquals(null, r.checksumXXHASH64());
  }

  @Test
  void completedParts_carryEveryChecksumTheUploadReturned() {
    UploadPartResponse up =
        UploadPartResponse.builder()
            .checksumSHA512("a")
            .checksumXXHASH3("b")
            .checksumCRC32("c")
            .checksumMD5("d")
            .build();
    CompletedPart.Builder cp = CompletedPart.builder().partNumber(1);
    Checksums.copyPartChecksums(up, CompletedPart.builder().build(), cp);
    CompletedPart p = cp.build();
    assertEquals("a", p.checksumSHA512());
    assertEquals("b", p.checksumXXHASH3());
    assertEquals("c", p.checksumCRC32());
    assertEquals("d", p.checksumMD5());
  }

  @Test
  void unknownLengthParts_growSoTenThousandPartsHoldOver2TiB_withinTheMemoryBound() {
    long eight = 8L * 1024 * 1024;
    assertEquals(eight, PutPath.unknownLengthPartSize(eight, 1));
    assertEquals(eight, PutPath.unknownLengthPartSize(eight, 1000));
    assertEquals(2 * eight, PutPath.unknownLengthPartSize(eight, 1001));
    long total = 0;
    long max = 0;
    for (int n = 1; n <= 10_000; n++) {
      long part = PutPath.unknownLengthPartSize(eight, n);
      total += part;
      max = Math.max(max, part);
    }
    assertTrue(total > 2L << 40, "10,000 parts hold " + total); // was 78 GiB at a fixed 8 MiB
    assertEquals(512L * 1024 * 1024, max, "no part above 512 MiB");
  }
}
