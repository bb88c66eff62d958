package com.panops.crypto.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/** The command line: LocalKmsMain in its own JVM, driven by the real SDK with what it prints. */
class LocalKmsCliIT {

  private static ProcessBuilder java(String... args) {
    return MainInItsOwnJvm.java(LocalKmsMain.class, args);
  }

  @Test
  void theCliPrintsEndpointAndTestCredentialsThatTheRealSdkCanUse(@TempDir Path dir)
      throws Exception {
    Path trail = dir.resolve("trail.jsonl");
    Process p = java("--port", "0", "--trail-file", trail.toString()).start();
    try {
      Map<String, String> printed =
          MainInItsOwnJvm.printedBeforeStopWith(p, Duration.ofSeconds(60));
      URI endpoint = URI.create(printed.get("endpoint"));
      assertEquals("127.0.0.1", endpoint.getHost());
      assertEquals("us-east-1", printed.get("region"));
      String key = printed.get("demo key");
      assertTrue(key.startsWith("arn:aws:kms:us-east-1:111122223333:key/"), key);
      try (KmsClient vendor =
          KmsClient.builder()
              .endpointOverride(endpoint)
              .region(Region.of(printed.get("region")))
              .credentialsProvider(
                  StaticCredentialsProvider.create(
                      AwsBasicCredentials.create(
                          printed.get("vendor access key"), printed.get("vendor secret key"))))
              .overrideConfiguration(
                  o ->
                      o.retryStrategy(AwsRetryStrategy.doNotRetry())
                          .apiCallTimeout(Duration.ofSeconds(20)))
              .build()) {
        var gdk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
        assertEquals(
            gdk.plaintext(),
            vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob())).plaintext());
      }
      assertEquals(3, Files.readAllLines(trail).size());
    } finally {
      p.destroy();
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  @Test
  void withACloudTrailDirTheCliDeliversLogFilesAndTheRestWhenItStops(@TempDir Path dir)
      throws Exception {
    Path ct = dir.resolve("ct");
    Process p = java("--port", "0", "--cloudtrail-dir", ct.toString()).start();
    try {
      Map<String, String> printed =
          MainInItsOwnJvm.printedBeforeStopWith(p, Duration.ofSeconds(60));
      try (KmsClient vendor =
          KmsClient.builder()
              .endpointOverride(URI.create(printed.get("endpoint")))
              .region(Region.of(printed.get("region")))
              .credentialsProvider(
                  StaticCredentialsProvider.create(
                      AwsBasicCredentials.create(
                          printed.get("vendor access key"), printed.get("vendor secret key"))))
              .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
              .build()) {
        vendor.generateDataKey(r -> r.keyId(printed.get("demo key")).numberOfBytes(32));
      }
    } finally {
      p.destroy(); // SIGTERM: the shutdown hook closes LocalKms, which delivers what is left
      assertTrue(p.waitFor(20, TimeUnit.SECONDS));
    }
    Path days = ct.resolve("AWSLogs/111122223333/CloudTrail/us-east-1");
    StringBuilder records = new StringBuilder();
    try (var files = Files.walk(days)) {
      for (Path f : files.filter(x -> x.toString().endsWith(".json.gz")).toList()) {
        try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(f))) {
          records.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
    }
    assertTrue(records.toString().contains("\"eventName\":\"GenerateDataKey\""), records::toString);
  }

  @Test
  void anUnknownArgumentPrintsUsageAndExitsWithStatus2() throws Exception {
    Process p = java("--bogus").start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(2, p.exitValue());
    assertTrue(output.contains("usage: LocalKmsMain"), output);
  }
}
