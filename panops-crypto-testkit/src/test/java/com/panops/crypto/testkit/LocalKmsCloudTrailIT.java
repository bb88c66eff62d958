package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.JSON;
import static com.panops.crypto.testkit.KmsTestSupport.client;
import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.panops.crypto.testkit.KmsTestSupport.MutableClock;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * LocalKms delivers its trail as CloudTrail does (gzipped log files in the AWSLogs layout), with
 * the record fields of AWS's documented KMS examples, through real SDK clients over HTTP.
 */
class LocalKmsCloudTrailIT {

  static final Map<String, String> CTX = Map.of("tenant", "t-42", "purpose", "mail");
  static final Pattern NAME =
      Pattern.compile(
          "111122223333_CloudTrail_us-east-1_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz");

  @TempDir Path dir;

  /** Every delivered file, parsed, in no particular order. */
  List<JsonNode> files() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".json.gz"))
          .map(LocalKmsCloudTrailIT::read)
          .toList();
    }
  }

  static JsonNode read(Path file) {
    try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
      JsonNode root = JSON.readTree(in);
      assertTrue(root.get("Records").isArray(), file.toString());
      assertEquals(1, root.size(), "only Records: " + root.fieldNames().next());
      return root.get("Records");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<JsonNode> records(Path file) {
    List<JsonNode> out = new ArrayList<>();
    read(file).forEach(out::add);
    return out;
  }

  static JsonNode named(List<JsonNode> records, String eventName, boolean failed) {
    return records.stream()
        .filter(r -> r.get("eventName").asText().equals(eventName))
        .filter(r -> r.has("errorCode") == failed)
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + eventName + " in " + records));
  }

  static void assertCommon(JsonNode r, String eventName, String keyArn, boolean readOnly) {
    assertEquals("1.11", r.get("eventVersion").asText());
    assertEquals("kms.amazonaws.com", r.get("eventSource").asText());
    assertEquals(eventName, r.get("eventName").asText());
    assertEquals("us-east-1", r.get("awsRegion").asText());
    assertEquals("AwsApiCall", r.get("eventType").asText());
    assertTrue(r.get("managementEvent").asBoolean());
    assertEquals("Management", r.get("eventCategory").asText());
    assertEquals("111122223333", r.get("recipientAccountId").asText());
    assertEquals(readOnly, r.get("readOnly").asBoolean());
    assertTrue(r.get("eventTime").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ"));
    assertEquals(36, r.get("eventID").asText().length());
    JsonNode res = r.get("resources").get(0);
    assertEquals(keyArn, res.get("ARN").asText());
    assertEquals("AWS::KMS::Key", res.get("type").asText());
    assertEquals("111122223333", res.get("accountId").asText());
  }

  static void assertAdmin(JsonNode r, LocalKms kms) {
    JsonNode who = r.get("userIdentity");
    assertEquals("AssumedRole", who.get("type").asText());
    assertEquals(kms.admin().arn(), who.get("arn").asText());
    assertEquals("111122223333", who.get("accountId").asText());
    assertEquals(kms.admin().accessKeyId(), who.get("accessKeyId").asText());
    assertTrue(who.get("principalId").asText().matches("AROA[A-Z2-7]{17}:key-admin"));
    JsonNode issuer = who.get("sessionContext").get("sessionIssuer");
    assertEquals("Role", issuer.get("type").asText());
    assertEquals(kms.admin().roleArn(), issuer.get("arn").asText());
    assertEquals("KeyAdmin", issuer.get("userName").asText());
    assertTrue(who.get("principalId").asText().startsWith(issuer.get("principalId").asText()));
  }

  @Test
  void recordsHaveAwsDocumentedKmsShapes_inGzippedFilesOfTheAwsLogsLayout() throws Exception {
    MutableClock clock = new MutableClock(Instant.parse("2030-05-01T12:03:04.567Z"));
    try (LocalKms kms =
            LocalKms.builder()
                .clock(clock)
                .cloudTrailDirectory(dir)
                .cloudTrailDeliveryInterval(Duration.ofHours(1))
                .start();
        KmsClient vendor = client(kms, kms.vendor())) {
      String key = kms.createKey("cloudtrail");
      GenerateDataKeyResponse gdk =
          vendor.generateDataKey(
              r -> r.keyId(key).keySpec(DataKeySpec.AES_256).encryptionContext(CTX));
      vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob()).encryptionContext(CTX));
      kms.disableKey(key);
      KmsException refused =
          assertThrows(
              KmsException.class,
              () ->
                  vendor.decrypt(
                      r -> r.ciphertextBlob(gdk.ciphertextBlob()).encryptionContext(CTX)));
      assertEquals("DisabledException", errorCode(refused));
      kms.enableKey(key);
      kms.putKeyPolicy(key, kms.seedKeyPolicy());
      String grantId = kms.createGrant(key, LocalKms.VENDOR_ROLE_ARN, "Decrypt");
      kms.revokeGrant(key, grantId);
      kms.scheduleKeyDeletion(key, 7);

      Path file = kms.deliverCloudTrail().orElseThrow();
      assertEquals(Optional.empty(), kms.deliverCloudTrail(), "nothing left to deliver");
      assertTrue(NAME.matcher(file.getFileName().toString()).matches(), file.toString());
      assertTrue(file.getFileName().toString().contains("_20300501T1203Z_"), file.toString());
      assertEquals(
          dir.toAbsolutePath().resolve("AWSLogs/111122223333/CloudTrail/us-east-1/2030/05/01"),
          file.getParent());
      List<JsonNode> records = records(file);
      assertEquals(
          kms.trail().stream().map(TrailEvent::requestId).toList(),
          records.stream().map(r -> r.get("requestID").asText()).toList(),
          "every event, in order");

      JsonNode decrypt = named(records, "Decrypt", false);
      assertCommon(decrypt, "Decrypt", key, true);
      assertEquals("2030-05-01T12:03:04Z", decrypt.get("eventTime").asText());
      assertEquals("127.0.0.1", decrypt.get("sourceIPAddress").asText());
      assertTrue(decrypt.get("userAgent").asText().contains("aws-sdk-java"));
      JsonNode p = decrypt.get("requestParameters");
      assertEquals(key, p.get("keyId").asText(), "the key the ciphertext names");
      assertEquals(JSON.valueToTree(CTX), p.get("encryptionContext"));
      assertEquals("SYMMETRIC_DEFAULT", p.get("encryptionAlgorithm").asText());
      assertEquals(3, p.size(), "no ciphertext: " + p);
      assertTrue(decrypt.get("responseElements").isNull());
      assertFalse(decrypt.has("errorCode"));
      JsonNode who = decrypt.get("userIdentity");
      assertEquals("AssumedRole", who.get("type").asText());
      assertEquals(LocalKms.VENDOR_SESSION_ARN, who.get("arn").asText());
      assertEquals("999988887777", who.get("accountId").asText());
      assertEquals(kms.vendor().accessKeyId(), who.get("accessKeyId").asText());
      JsonNode issuer = who.get("sessionContext").get("sessionIssuer");
      assertEquals(LocalKms.VENDOR_ROLE_ARN, issuer.get("arn").asText());
      assertEquals("999988887777", issuer.get("accountId").asText());
      assertEquals("PanOpsServiceRole", issuer.get("userName").asText());
      assertTrue(issuer.get("principalId").asText().matches("AROA[A-Z2-7]{17}"));

      JsonNode gen = named(records, "GenerateDataKey", false);
      assertCommon(gen, "GenerateDataKey", key, true);
      assertEquals("AES_256", gen.get("requestParameters").get("keySpec").asText());
      assertEquals(key, gen.get("requestParameters").get("keyId").asText());

      JsonNode denied = named(records, "Decrypt", true);
      assertCommon(denied, "Decrypt", key, true);
      assertEquals("DisabledException", denied.get("errorCode").asText());
      assertTrue(denied.get("errorMessage").asText().contains(key), denied.toString());
      assertEquals(refused.requestId(), denied.get("requestID").asText());
      assertTrue(denied.get("responseElements").isNull());

      for (String op : List.of("DisableKey", "EnableKey")) {
        JsonNode r = named(records, op, false);
        assertCommon(r, op, key, false);
        assertAdmin(r, kms);
        assertEquals(JSON.createObjectNode().put("keyId", key), r.get("requestParameters"));
        assertTrue(r.get("responseElements").isNull());
        assertTrue(r.get("userAgent").isNull(), "an in-process action sends no user agent");
      }

      JsonNode put = named(records, "PutKeyPolicy", false);
      assertCommon(put, "PutKeyPolicy", key, false);
      assertEquals(kms.seedKeyPolicy(), put.get("requestParameters").get("policy").asText());
      assertEquals("default", put.get("requestParameters").get("policyName").asText());
      assertFalse(put.get("requestParameters").get("bypassPolicyLockoutSafetyCheck").asBoolean());

      JsonNode grant = named(records, "CreateGrant", false);
      assertCommon(grant, "CreateGrant", key, false);
      assertEquals(
          LocalKms.VENDOR_ROLE_ARN,
          grant.get("requestParameters").get("granteePrincipal").asText());
      assertEquals("[\"Decrypt\"]", grant.get("requestParameters").get("operations").toString());
      assertEquals(JSON.createObjectNode().put("grantId", grantId), grant.get("responseElements"));
      assertFalse(grant.toString().contains("rantToken"), "no grant token: " + grant);

      JsonNode revoke = named(records, "RevokeGrant", false);
      assertCommon(revoke, "RevokeGrant", key, false);
      assertEquals(grantId, revoke.get("requestParameters").get("grantId").asText());

      JsonNode schedule = named(records, "ScheduleKeyDeletion", false);
      assertCommon(schedule, "ScheduleKeyDeletion", key, false);
      assertEquals(7, schedule.get("requestParameters").get("pendingWindowInDays").asInt());
      JsonNode resp = schedule.get("responseElements");
      assertEquals(key, resp.get("keyId").asText());
      assertEquals("PendingDeletion", resp.get("keyState").asText());
      assertEquals(7, resp.get("pendingWindowInDays").asInt());
      assertEquals("May 8, 2030 12:03:04 PM", resp.get("deletionDate").asText());

      Set<String> ids = new HashSet<>();
      records.forEach(r -> ids.add(r.get("eventID").asText()));
      assertEquals(records.size(), ids.size(), "eventIDs are unique");

      // the waiting period ends: KMS deletes the key and records it as a service event
      clock.advance(Duration.ofDays(8));
      Path later = kms.deliverCloudTrail().orElseThrow();
      assertTrue(later.getParent().endsWith("us-east-1/2030/05/09"), later.toString());
      List<JsonNode> deleted = records(later);
      assertEquals(1, deleted.size(), deleted.toString());
      JsonNode del = deleted.get(0);
      assertEquals("DeleteKey", del.get("eventName").asText());
      assertEquals("AwsServiceEvent", del.get("eventType").asText());
      assertEquals("2030-05-08T12:03:04Z", del.get("eventTime").asText(), "the deletion date");
      assertEquals("111122223333", del.get("userIdentity").get("accountId").asText());
      assertEquals("AWS Internal", del.get("userIdentity").get("invokedBy").asText());
      assertEquals("AWS Internal", del.get("sourceIPAddress").asText());
      assertEquals("AWS Internal", del.get("userAgent").asText());
      assertTrue(del.get("requestParameters").isNull());
      assertEquals(key, del.get("responseElements").get("keyId").asText());
      assertEquals(key, del.get("resources").get(0).get("ARN").asText());
      assertEquals(0, kms.cloudTrailDeliveryFailures());
    }
  }

  @Test
  void underConcurrentCalls_everyRecordIsDeliveredOnce_inOrder_atMostRecordsPerFileAFile()
      throws Exception {
    List<String> expected;
    try (LocalKms kms =
            LocalKms.builder()
                .cloudTrailDirectory(dir)
                .cloudTrailRecordsPerFile(10)
                .cloudTrailDeliveryInterval(Duration.ofMillis(20))
                .start();
        KmsClient vendor = client(kms, kms.vendor())) {
      String key = kms.createKey("concurrent");
      GenerateDataKeyResponse gdk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
      ExecutorService pool = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          done.add(pool.submit(() -> vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob()))));
        }
        for (Future<?> f : done) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
      kms.close(); // delivers the rest
      expected = kms.trail().stream().map(TrailEvent::requestId).toList();
      assertEquals(202, expected.size());
      assertEquals(0, kms.cloudTrailDeliveryFailures());
    }
    List<JsonNode> files = files();
    assertTrue(files.size() >= 21, "files of at most 10: " + files.size());
    List<String> delivered = new ArrayList<>();
    Set<String> eventIds = new HashSet<>();
    for (JsonNode records : files) {
      assertTrue(
          records.size() >= 1 && records.size() <= 10, "records in a file: " + records.size());
      int last = -1;
      for (JsonNode r : records) {
        String id = r.get("requestID").asText();
        int at = expected.indexOf(id);
        assertTrue(at > last, "a file holds its records in event order");
        last = at;
        delivered.add(id);
        eventIds.add(r.get("eventID").asText());
      }
    }
    assertEquals(Set.copyOf(expected), Set.copyOf(delivered), "no record lost");
    assertEquals(expected.size(), delivered.size(), "no record duplicated");
    assertEquals(expected.size(), eventIds.size(), "eventIDs are unique");
    try (Stream<Path> s = Files.walk(dir)) {
      assertTrue(
          s.filter(Files::isRegularFile)
              .allMatch(p -> NAME.matcher(p.getFileName().toString()).matches()),
          "no temporary file left behind");
    }
  }

  @Test
  void closeDeliversWhatIsBuffered_andWithoutADirectoryNothingIsDelivered() throws Exception {
    try (LocalKms plain = LocalKms.start()) {
      plain.createKey("no files");
      assertEquals(Optional.empty(), plain.deliverCloudTrail());
    }
    List<String> ids;
    try (LocalKms kms =
        LocalKms.builder()
            .cloudTrailDirectory(dir)
            .cloudTrailDeliveryInterval(Duration.ofHours(1))
            .start()) {
      String key = kms.createKey("closing");
      kms.disableKey(key);
      kms.enableKey(key);
      assertEquals(List.of(), files(), "nothing delivered before a trigger");
      kms.close();
      ids = kms.trail().stream().map(TrailEvent::requestId).toList();
    }
    List<JsonNode> files = files();
    assertEquals(1, files.size());
    List<String> delivered = new ArrayList<>();
    files.get(0).forEach(r -> delivered.add(r.get("requestID").asText()));
    assertEquals(ids, delivered);
    assertEquals(3, delivered.size());
  }
}
