package com.panops.crypto.s3;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.io.InputStream;
import java.net.URI;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Run in a child JVM with a small heap by {@link BoundedMemoryIT}: puts a body of the given size
 * (from a deterministic stream, never an array) through the encrypting client, reads it back as a
 * stream, and prints both SHA-256 digests. An {@code OutOfMemoryError} makes it exit non-zero.
 *
 * <p>Arguments: s3Endpoint kmsEndpoint kmsRegion accessKeyId secretAccessKey cmkArn bucket size.
 */
public final class BoundedMemoryRoundTrip {
  private BoundedMemoryRoundTrip() {}

  public static void main(String[] a) throws Exception {
    long size = Long.parseLong(a[7]);
    String bucket = a[6];
    try (KmsClient kms =
            KmsClient.builder()
                .endpointOverride(URI.create(a[1]))
                .region(Region.of(a[2]))
                .credentialsProvider(
                    StaticCredentialsProvider.create(AwsBasicCredentials.create(a[3], a[4])))
                .build();
        PanopsCrypto crypto =
            PanopsCrypto.builder()
                .kmsClient(kms)
                .tenantDirectory(TenantDirectory.of(Map.of("t", TenantKeys.of(a[5]))))
                .allowInsecureLocalKmsEndpoint()
                .probeSettings(ProbeSettings.off())
                .build();
        EncryptingS3Client s3 =
            EncryptingS3Client.builder()
                .s3Client(
                    S3Client.builder()
                        .endpointOverride(URI.create(a[0]))
                        .forcePathStyle(true)
                        .region(Region.US_EAST_1)
                        .credentialsProvider(
                            StaticCredentialsProvider.create(
                                AwsBasicCredentials.create("it-access", "it-secret")))
                        .build())
                .crypto(crypto)
                .tenant("t")
                .allowInsecureLocalS3Endpoint()
                .build()) {
      s3.putObject(
          r -> r.bucket(bucket).key("big"),
          RequestBody.fromContentProvider(
              () -> new PatternStream(size, size), size, "application/octet-stream"));
      String read;
      try (InputStream in = s3.getObject(r -> r.bucket(bucket).key("big"))) {
        read = S3TestEnv.sha256(in);
      }
      long stored = s3.headObject(r -> r.bucket(bucket).key("big")).contentLength();
      Runtime rt = Runtime.getRuntime();
      System.out.println("expected=" + S3TestEnv.sha256(new PatternStream(size, size)));
      System.out.println("read=" + read);
      System.out.println("length=" + stored);
      System.out.println("maxHeapMiB=" + rt.maxMemory() / (1024 * 1024));
    }
  }
}
