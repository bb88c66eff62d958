package com.panops.crypto.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.AuditSink;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import com.panops.crypto.verify.Main;
import com.panops.crypto.verify.TrailSource;
import com.panops.crypto.verify.TrailVerifier;
import com.panops.crypto.verify.VerificationReport;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The library runs against LocalKms over HTTP; the customer disables and re-enables its keys three
 * times; LocalKms delivers its trail as CloudTrail log files. The verifier's report on those files
 * gives each cut with a time to dark within the documented bound, the vendor's call counts as
 * LocalKms recorded them, and an audit that reconciles one to one. A successful Decrypt slipped
 * into the trail after a cut is reported as a violation, and the command line exits 1.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VerifierOnLocalKmsTrailIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration PROBE = Duration.ofMillis(500);
  private static final KeyContext KC = KeyContext.of("class", "mail");
  private static final MessageAad AAD = MessageAad.of("row", "1");

  @TempDir static Path dir;
  private Path trail;
  private Path audit;
  private List<TrailEvent> recorded;
  private String acmeKey;
  private String globexKey;

  @BeforeAll
  void runTheLibraryAndPullTheSwitchThreeTimes() throws Exception {
    trail = dir.resolve("trail");
    audit = dir.resolve("audit.jsonl");
    try (LocalKms kms = LocalKms.builder().cloudTrailDirectory(trail).start();
        KmsClient client =
            KmsClient.builder()
                .endpointOverride(kms.endpoint())
                .region(Region.of(kms.region()))
                .credentialsProvider(kms.vendor().credentialsProvider())
                .build();
        Writer auditOut = Files.newBufferedWriter(audit, StandardCharsets.UTF_8)) {
      acmeKey = kms.createKey("acme");
      globexKey = kms.createKey("globex");
      try (PanopsCrypto crypto =
          PanopsCrypto.builder()
              .kmsClient(client)
              .allowInsecureLocalKmsEndpoint()
              .tenantDirectory(
                  TenantDirectory.of(
                      Map.of("acme", TenantKeys.of(acmeKey), "globex", TenantKeys.of(globexKey))))
              .probeSettings(
                  ProbeSettings.builder().interval(PROBE).settle(2, Duration.ofMillis(300)).build())
              .auditSink(AuditSink.jsonLines(auditOut))
              .build()) {
        TenantCrypto acme = crypto.tenant("acme");
        TenantCrypto globex = crypto.tenant("globex");
        byte[] a = acme.encrypt("a".getBytes(StandardCharsets.UTF_8), KC, AAD);
        byte[] g = globex.encrypt("g".getBytes(StandardCharsets.UTF_8), KC, AAD);
        cutAndRestore(kms, acme, acmeKey, a);
        cutAndRestore(kms, globex, globexKey, g);
        cutAndRestore(kms, acme, acmeKey, a);
      }
      recorded = kms.trail();
    }
  }

  /** Disables the key, waits until the library refuses, then re-enables it and waits for reads. */
  private static void cutAndRestore(LocalKms kms, TenantCrypto t, String key, byte[] ct)
      throws InterruptedException {
    Thread.sleep(1_200); // a few probes before the cut, and the cut in a later second
    kms.disableKey(key);
    awaitTrue(() -> refuses(t, ct), "the library latches");
    Thread.sleep(2_500); // the cut lasts two whole seconds of the trail at least
    kms.enableKey(key);
    awaitTrue(() -> !refuses(t, ct), "the library reads again");
  }

  private static boolean refuses(TenantCrypto t, byte[] ct) {
    try {
      t.decrypt(ct, KC, AAD);
      return false;
    } catch (KeyRevokedException e) {
      return true;
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier c, String what)
      throws InterruptedException {
    long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!c.getAsBoolean()) {
      assertTrue(System.nanoTime() < end, what);
      Thread.sleep(20);
    }
  }

  private VerificationReport verify(Path source) {
    return TrailVerifier.builder()
        .vendorPrincipal(LocalKms.VENDOR_ROLE_ARN)
        .propagationWindow(Duration.ofSeconds(5))
        .auditLog(audit)
        .build()
        .verify(TrailSource.folder(source));
  }

  private static final java.util.Set<String> DATA_CALLS =
      java.util.Set.of("Decrypt", "Encrypt", "GenerateDataKey", "ReEncrypt");

  private static JsonNode json(VerificationReport r) {
    try {
      return JSON.readTree(r.toJson());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void eachCutIsDarkWithinTheBoundAndTheCountsAreLocalKmssOwn() {
    VerificationReport r = verify(trail);

    assertEquals(VerificationReport.Verdict.PASS, r.verdict(), r::toText);
    assertEquals(3, r.cuts());
    assertTrue(json(r).path("input").path("complete").asBoolean());
    for (JsonNode key : json(r).path("keys")) {
      String arn = key.path("keyArn").asText();
      JsonNode p = key.path("principals").get(0);
      assertEquals(LocalKms.VENDOR_ROLE_ARN, p.path("principal").asText());
      assertEquals(arn.equals(acmeKey) ? 2 : 1, p.path("cuts").size(), arn);
      for (JsonNode cut : p.path("cuts")) {
        // LocalKms applies a change at once: no success after the cut beyond CloudTrail's 1 s
        // resolution; the first refusal within one probe interval (plus that resolution, plus
        // scheduling slack on a loaded machine)
        assertTrue(cut.path("timeToDarkSeconds").asDouble() <= 1.0, cut::toString);
        double refusal = cut.path("timeToFirstRefusalSeconds").asDouble();
        assertTrue(refusal <= PROBE.toMillis() / 1000.0 + 3.0, cut::toString);
        assertEquals("DisabledException", cut.path("firstRefusedErrorCode").asText());
        assertEquals("EnableKey", cut.path("restoredBy").asText());
        assertTrue(!cut.path("firstSuccessAfterRestore").isNull(), cut::toString);
      }
      assertEquals(vendorDataCalls(arn, false), p.path("calls").path("success").asLong(), arn);
      assertEquals(vendorDataCalls(arn, true), p.path("calls").path("refused").asLong(), arn);
      assertTrue(p.path("probes").path("decrypts").asLong() > 0, "probes recognised by user agent");
    }
    JsonNode rec = json(r).path("reconciliation");
    assertTrue(rec.path("reconciled").asBoolean(), rec::toString);
    assertEquals(rec.path("auditEvents").asInt(), rec.path("matched").asInt(), rec::toString);
  }

  private long vendorDataCalls(String key, boolean failed) {
    return recorded.stream()
        .filter(e -> LocalKms.VENDOR_ROLE_ARN.equals(e.roleArn()) && key.equals(e.keyId()))
        .filter(e -> DATA_CALLS.contains(e.eventName()) && e.failed() == failed)
        .count();
  }

  @Test
  void aDecryptSlippedInAfterACutIsAViolationAndTheCommandLineExitsOne() throws IOException {
    Path seeded = dir.resolve("seeded");
    copy(trail, seeded);
    JsonNode cut =
        json(verify(trail)).path("keys").get(0).path("principals").get(0).path("cuts").get(0);
    String key = json(verify(trail)).path("keys").get(0).path("keyArn").asText();
    ObjectNode success = aVendorSuccess(key);
    Instant at = Instant.parse(cut.path("at").asText()).plusSeconds(1); // before the restore
    success.put("eventTime", at.toString());
    success.put("eventID", UUID.randomUUID().toString());
    success.put("requestID", UUID.randomUUID().toString());
    Path file = seeded.resolve("AWSLogs/seeded_CloudTrail_us-east-1_29991231T2359Z_seeded.json.gz");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
      ObjectNode doc = JSON.createObjectNode();
      doc.putArray("Records").add(success);
      out.write(JSON.writeValueAsBytes(doc));
    }

    VerificationReport r =
        TrailVerifier.builder()
            .vendorPrincipal(LocalKms.VENDOR_ROLE_ARN)
            .propagationWindow(Duration.ZERO)
            .build()
            .verify(TrailSource.folder(seeded));

    assertEquals(VerificationReport.Verdict.VIOLATION, r.verdict(), r::toText);
    assertEquals(1, r.violations());
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code =
        Main.run(
            new String[] {
              "--vendor", LocalKms.VENDOR_ROLE_ARN, "--propagation-window", "0", seeded.toString()
            },
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    assertEquals(1, code);
    assertTrue(
        out.toString(StandardCharsets.UTF_8).contains("VIOLATION: Decrypt succeeded at " + at),
        out::toString);
  }

  /** A successful vendor Decrypt on {@code key}, as LocalKms wrote it in its log files. */
  private ObjectNode aVendorSuccess(String key) throws IOException {
    try (Stream<Path> files = Files.walk(trail)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".json.gz")).toList()) {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(f))) {
          for (JsonNode rec : JSON.readTree(in).path("Records")) {
            if ("Decrypt".equals(rec.path("eventName").asText())
                && !rec.has("errorCode")
                && rec.path("resources").toString().contains(key)
                && rec.path("userIdentity").path("accountId").asText().equals("999988887777")) {
              return (ObjectNode) rec.deepCopy();
            }
          }
        }
      }
    }
    throw new AssertionError("no successful vendor Decrypt in the trail");
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path f : files.toList()) {
        Path t = to.resolve(from.relativize(f).toString());
        if (Files.isDirectory(f)) {
          Files.createDirectories(t);
        } else {
          Files.copy(f, t);
        }
      }
    }
  }

  @Test
  void theLibraryRejectsNothingTheTrailRefused() {
    assertThrows(
        IllegalArgumentException.class, () -> TrailVerifier.builder().vendorPrincipal("nobody"));
  }
}
