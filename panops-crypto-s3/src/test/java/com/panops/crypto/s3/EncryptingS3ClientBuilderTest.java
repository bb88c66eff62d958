package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;

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
            IllegalArgumentException.class,
            () ->
                EncryptingS3Client.builder()
                    .s3Client(s3("http://127.0.0.1:9090"))
                    .crypto(crypto)
                    .tenant("t")
                    .build());
    assertTrue(e.getMessage().contains("allowInsecureLocalS3Endpoint"));
  }

  @Test
  void httpEndpoint_isAcceptedWithTheOptIn_onlyOnLoopback() {
    assertNotNull(
        EncryptingS3Client.builder()
            .s3Client(s3("http://127.0.0.1:9090"))
            .crypto(crypto)
            .tenant("t")
            .allowInsecureLocalS3Endpoint()
            .build());
    assertThrows(
        IllegalArgumentException.class,
        () ->
            EncryptingS3Client.builder()
                .s3Client(s3("http://s3.example.com"))
                .crypto(crypto)
                .tenant("t")
                .allowInsecureLocalS3Endpoint()
                .build());
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
        () ->
            EncryptingS3Client.builder()
                .s3Client(s3("https://s3.example.com"))
                .crypto(crypto)
                .tenant("t")
                .tenantCrypto(crypto.tenant("t"))
                .build());
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
            EncryptingS3Client.builder()
                .s3Client(s3("https://s3.example.com"))
                .crypto(crypto)
                .tenant("t")
                .multipartPartSize(128L * 1024 * 1024) // above the 100 MiB threshold
                .build());
  }
}
