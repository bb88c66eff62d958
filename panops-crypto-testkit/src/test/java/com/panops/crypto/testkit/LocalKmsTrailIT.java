package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.JSON;
import static com.panops.crypto.testkit.KmsTestSupport.client;
import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.panops.crypto.testkit.KmsTestSupport.MutableClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KmsException;

class LocalKmsTrailIT {

  private static final Map<String, String> CTX = Map.of("tenant", "t-42", "purpose", "mail");

  @Test
  void everyCallAllowedOrRefusedIsRecordedWithCallerKeyContextAndOutcome() {
    MutableClock clock = new MutableClock(Instant.parse("2030-05-01T12:00:00Z"));
    try (LocalKms kms = LocalKms.builder().clock(clock).start();
        KmsClient vendor = client(kms, kms.vendor())) {
      String key = kms.createKey("trail");
      GenerateDataKeyResponse gdk =
          vendor.generateDataKey(
              r -> r.keyId(key).keySpec(DataKeySpec.AES_256).encryptionContext(CTX));
      vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob()).encryptionContext(CTX));
      KmsException denied =
          assertThrows(KmsException.class, () -> vendor.disableKey(r -> r.keyId(key)));
      kms.disableKey(key);

      List<TrailEvent> trail = kms.trail();
      assertEquals(
          List.of("CreateKey", "GenerateDataKey", "Decrypt", "DisableKey", "DisableKey"),
          trail.stream().map(TrailEvent::eventName).toList());
      TrailEvent create = trail.get(0);
      assertEquals(kms.admin().arn(), create.userArn());
      assertEquals(key, create.keyId());

      TrailEvent gdkEvent = trail.get(1);
      assertEquals(kms.vendor().arn(), gdkEvent.userArn());
      assertEquals(key, gdkEvent.keyId());
      assertEquals(CTX, gdkEvent.encryptionContext());
      assertNull(gdkEvent.errorCode());
      assertEquals(Instant.parse("2030-05-01T12:00:00Z"), gdkEvent.eventTime());

      TrailEvent decrypt = trail.get(2);
      assertEquals(key, decrypt.keyId());
      assertEquals(CTX, decrypt.encryptionContext());
      assertEquals("SYMMETRIC_DEFAULT", decrypt.encryptionAlgorithm());

      TrailEvent refused = trail.get(3);
      assertEquals(kms.vendor().arn(), refused.userArn());
      assertEquals("AccessDeniedException", refused.errorCode());
      assertEquals(denied.requestId(), refused.requestId());
      assertTrue(refused.failed());

      TrailEvent customer = trail.get(4);
      assertEquals(kms.admin().arn(), customer.userArn());
      assertNull(customer.errorCode());

      kms.clearTrail();
      assertTrue(kms.trail().isEmpty());
      assertThrows(
          Exception.class,
          () -> vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob()).encryptionContext(CTX)));
      assertEquals("DisabledException", kms.trail().get(0).errorCode());
    }
  }

  @Test
  void theTrailFileHoldsOneCloudTrailShapedJsonLinePerEventAndNoPlaintext(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("logs/trail.jsonl");
    String plaintextB64;
    String dataKeyB64;
    try (LocalKms kms = LocalKms.builder().trailFile(file).start();
        KmsClient vendor = client(kms, kms.vendor())) {
      String key = kms.createKey("file");
      EncryptResponse enc =
          vendor.encrypt(
              r ->
                  r.keyId(key)
                      .plaintext(SdkBytes.fromUtf8String("top secret canary"))
                      .encryptionContext(CTX));
      plaintextB64 =
          Base64.getEncoder().encodeToString("top secret canary".getBytes(StandardCharsets.UTF_8));
      GenerateDataKeyResponse gdk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
      dataKeyB64 = Base64.getEncoder().encodeToString(gdk.plaintext().asByteArray());
      vendor.decrypt(r -> r.ciphertextBlob(enc.ciphertextBlob()).encryptionContext(CTX));
      KmsException e =
          assertThrows(
              KmsException.class,
              () -> vendor.putKeyPolicy(r -> r.keyId(key).policy(kms.seedKeyPolicy())));
      assertEquals("AccessDeniedException", errorCode(e));
    }
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    assertEquals(5, lines.size());
    String all = String.join("\n", lines);
    assertFalse(all.contains(plaintextB64));
    assertFalse(all.contains("top secret canary"));
    assertFalse(all.contains(dataKeyB64));

    JsonNode decrypt = JSON.readTree(lines.get(3));
    assertEquals("Decrypt", decrypt.get("eventName").asText());
    assertEquals("kms.amazonaws.com", decrypt.get("eventSource").asText());
    assertEquals(
        "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/panops-worker",
        decrypt.get("userIdentity").get("arn").asText());
    assertEquals("AssumedRole", decrypt.get("userIdentity").get("type").asText());
    assertEquals("999988887777", decrypt.get("userIdentity").get("accountId").asText());
    JsonNode issuer = decrypt.get("userIdentity").get("sessionContext").get("sessionIssuer");
    assertEquals("Role", issuer.get("type").asText());
    assertEquals("arn:aws:iam::999988887777:role/PanOpsServiceRole", issuer.get("arn").asText());
    assertEquals("PanOpsServiceRole", issuer.get("userName").asText());
    assertTrue(decrypt.get("userAgent").asText().contains("aws-sdk-java"));
    assertEquals(
        "t-42", decrypt.get("requestParameters").get("encryptionContext").get("tenant").asText());
    assertEquals(
        "SYMMETRIC_DEFAULT", decrypt.get("requestParameters").get("encryptionAlgorithm").asText());
    assertTrue(decrypt.get("requestParameters").get("keyId").asText().startsWith("arn:aws:kms:"));
    assertNotNull(decrypt.get("requestID").asText());
    assertNull(decrypt.get("errorCode"));
    Instant.parse(decrypt.get("eventTime").asText());

    JsonNode refused = JSON.readTree(lines.get(4));
    assertEquals("PutKeyPolicy", refused.get("eventName").asText());
    assertEquals("AccessDeniedException", refused.get("errorCode").asText());
  }

  @Test
  void concurrentCallsAreAllAnsweredAndAllRecorded() throws Exception {
    try (LocalKms kms = LocalKms.start();
        KmsClient vendor = client(kms, kms.vendor())) {
      String key = kms.createKey("concurrent");
      kms.clearTrail();
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<Boolean>> results = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          results.add(
              pool.submit(
                  () -> {
                    GenerateDataKeyResponse gdk =
                        vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
                    return vendor
                        .decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob()))
                        .plaintext()
                        .equals(gdk.plaintext());
                  }));
        }
        for (Future<Boolean> f : results) {
          assertTrue(f.get());
        }
      } finally {
        pool.shutdownNow();
      }
      assertEquals(400, kms.trail().size());
      assertTrue(kms.trail().stream().noneMatch(TrailEvent::failed));
    }
  }

  @Test
  void trailEventJsonCarriesTheRequestIdAndErrorCode() throws Exception {
    TrailEvent e =
        new TrailEvent(
            Instant.parse("2030-01-01T00:00:00Z"),
            "Decrypt",
            "arn:aws:iam::999988887777:role/PanOpsServiceRole",
            null,
            null,
            "SYMMETRIC_DEFAULT",
            "DisabledException",
            "req-1");
    JsonNode json = JSON.readTree(e.toJson());
    assertEquals("req-1", json.get("requestID").asText());
    assertEquals("DisabledException", json.get("errorCode").asText());
    assertTrue(json.get("requestParameters").get("keyId").isNull());
    assertTrue(e.encryptionContext().isEmpty());
  }

  @Test
  void reEncryptIsRecordedWithSourceAndDestinationKeysAndContexts() throws Exception {
    try (LocalKms kms = LocalKms.start();
        KmsClient vendor = client(kms, kms.vendor())) {
      String from = kms.createKey("old");
      String to = kms.createKey("new");
      GenerateDataKeyResponse dk =
          vendor.generateDataKey(
              r -> r.keyId(from).numberOfBytes(32).encryptionContext(Map.of("tenant", "a")));
      kms.clearTrail();
      vendor.reEncrypt(
          r ->
              r.ciphertextBlob(dk.ciphertextBlob())
                  .sourceKeyId(from)
                  .sourceEncryptionContext(Map.of("tenant", "a"))
                  .destinationKeyId(to)
                  .destinationEncryptionContext(Map.of("tenant", "a", "v", "2")));
      TrailEvent t = kms.trail().get(0);
      assertEquals("ReEncrypt", t.eventName());
      assertEquals(from, t.keyId());
      assertEquals(Map.of("tenant", "a"), t.encryptionContext());
      assertEquals(to, t.destinationKeyId());
      assertEquals(Map.of("tenant", "a", "v", "2"), t.destinationEncryptionContext());
      JsonNode p = JSON.readTree(t.toJson()).get("requestParameters");
      assertEquals(from, p.get("sourceKeyId").asText());
      assertEquals(to, p.get("destinationKeyId").asText());
      assertEquals("2", p.get("destinationEncryptionContext").get("v").asText());
      assertEquals("a", p.get("sourceEncryptionContext").get("tenant").asText());
    }
  }
}
