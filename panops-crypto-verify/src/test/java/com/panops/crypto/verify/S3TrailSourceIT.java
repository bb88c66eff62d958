package com.panops.crypto.verify;

import static com.panops.crypto.verify.Trails.KEY;
import static com.panops.crypto.verify.Trails.VENDOR_ROLE;
import static com.panops.crypto.verify.Trails.adminChange;
import static com.panops.crypto.verify.Trails.at;
import static com.panops.crypto.verify.Trails.vendorCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.s3.S3MockServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A trail in an S3 bucket, read through the caller's real S3Client over HTTP (S3Mock on loopback):
 * the same report as from a folder copy, from the library and from the command line.
 */
class S3TrailSourceIT {
  private static S3MockServer s3mock;
  private static S3Client s3;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    s3mock = S3MockServer.start(S3MockServer.locateJar());
    s3 =
        S3Client.builder()
            .endpointOverride(s3mock.endpoint())
            .forcePathStyle(true)
            .region(Region.of(s3mock.region()))
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create("it", "it")))
            .build();
  }

  @AfterAll
  static void stop() {
    s3.close();
    s3mock.close();
  }

  private String upload(String bucket) throws IOException {
    Trails.Writer w = new Trails.Writer(dir);
    w.file(
        at(60),
        List.of(vendorCall("Decrypt", KEY, at(0), null), adminChange("DisableKey", KEY, at(10))));
    w.file(at(120), List.of(vendorCall("Decrypt", KEY, at(12), "DisabledException")));
    s3.createBucket(b -> b.bucket(bucket));
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        String key = dir.relativize(f).toString().replace('\\', '/');
        s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromFile(f));
      }
    }
    s3.putObject(b -> b.bucket(bucket).key("other/unrelated.txt"), RequestBody.fromString("x"));
    return bucket;
  }

  @Test
  void anS3PrefixGivesTheSameReportAsItsFolderCopy() throws IOException {
    String bucket = upload("trail-lib");
    Clock fixed = Clock.fixed(at(0), ZoneOffset.UTC);

    VerificationReport fromS3 =
        TrailVerifier.builder()
            .vendorPrincipal(VENDOR_ROLE)
            .clock(fixed)
            .build()
            .verify(TrailSource.s3(s3, bucket, "AWSLogs/"));
    VerificationReport fromFolder =
        TrailVerifier.builder()
            .vendorPrincipal(VENDOR_ROLE)
            .clock(fixed)
            .build()
            .verify(TrailSource.folder(dir));

    assertEquals(2, fromS3.json().path("input").path("files").asInt());
    assertEquals(1, fromS3.cuts());
    assertEquals(fromFolder.json().path("keys"), fromS3.json().path("keys"));
    assertEquals(fromFolder.json().path("summary"), fromS3.json().path("summary"));
  }

  @Test
  void theCommandLineReadsAnS3Prefix() throws IOException {
    String bucket = upload("trail-cli");
    // the command line's S3 client takes the SDK's default credentials chain: system properties
    // first
    System.setProperty("aws.accessKeyId", "it");
    System.setProperty("aws.secretAccessKey", "it");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try {
      code =
          Main.run(
              new String[] {
                "--vendor",
                VENDOR_ROLE,
                "--region",
                s3mock.region(),
                "--s3-endpoint",
                s3mock.endpoint().toString(),
                "s3://" + bucket + "/AWSLogs/"
              },
              new PrintStream(out, true, StandardCharsets.UTF_8),
              new PrintStream(err, true, StandardCharsets.UTF_8),
              false);
    } finally {
      System.clearProperty("aws.accessKeyId");
      System.clearProperty("aws.secretAccessKey");
    }

    assertEquals(0, code, err::toString);
    String text = out.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("read 2 files"), text);
    assertTrue(text.contains("first refusal after 2.0s (DisabledException)"), text);
  }
}
