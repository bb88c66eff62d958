package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.JSON;
import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
import static com.panops.crypto.testkit.KmsTestSupport.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.panops.crypto.testkit.KmsTestSupport.Raw;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KmsException;

class LocalKmsAuthIT {

  private LocalKms kms;
  private String key;

  @BeforeEach
  void start() {
    kms = LocalKms.start();
    key = kms.createKey("auth");
    kms.clearTrail();
  }

  @AfterEach
  void stop() {
    kms.close();
  }

  private KmsClient clientWith(String accessKeyId, String secret, String region) {
    return KmsClient.builder()
        .endpointOverride(kms.endpoint())
        .region(Region.of(region))
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKeyId, secret)))
        .overrideConfiguration(
            o ->
                o.retryStrategy(AwsRetryStrategy.doNotRetry())
                    .apiCallTimeout(Duration.ofSeconds(20)))
        .build();
  }

  @Test
  void theRealSdkSigningWithTheWrongSecretIsRefusedWithInvalidSignature() {
    try (KmsClient c =
        clientWith(
            kms.vendor().accessKeyId(), "wrong" + kms.vendor().secretAccessKey(), kms.region())) {
      KmsException e =
          assertThrows(
              KmsException.class, () -> c.generateDataKey(r -> r.keyId(key).numberOfBytes(32)));
      assertEquals("InvalidSignatureException", errorCode(e));
      assertEquals(400, e.statusCode());
    }
    TrailEvent event = kms.trail().get(0);
    assertEquals("GenerateDataKey", event.eventName());
    assertEquals(kms.vendor().arn(), event.userArn());
    assertEquals(key, event.keyId());
    assertEquals("InvalidSignatureException", event.errorCode());
  }

  @Test
  void anUnknownAccessKeyIdIsRefusedWithUnrecognizedClient() {
    try (KmsClient c = clientWith("AKIAUNKNOWNUNKNOWN00", "secret", kms.region())) {
      KmsException e = assertThrows(KmsException.class, () -> c.describeKey(r -> r.keyId(key)));
      assertEquals("UnrecognizedClientException", errorCode(e));
      assertEquals(400, e.statusCode());
    }
    TrailEvent event = kms.trail().get(0);
    assertNull(event.userArn());
    assertEquals("UnrecognizedClientException", event.errorCode());
  }

  @Test
  void aSignatureScopedToAnotherRegionIsRefused() {
    try (KmsClient c =
        clientWith(kms.vendor().accessKeyId(), kms.vendor().secretAccessKey(), "eu-west-1")) {
      KmsException e = assertThrows(KmsException.class, () -> c.describeKey(r -> r.keyId(key)));
      assertEquals("InvalidSignatureException", errorCode(e));
    }
  }

  @Test
  void aRawRequestSignedCorrectlyIsAcceptedAndTheSameBodyTamperedAfterSigningIsRefused()
      throws Exception {
    String body = "{\"KeyId\":\"" + key + "\"}";
    HttpResponse<String> ok =
        send(kms, new Raw().target("TrentService.DescribeKey").body(body).signedBy(kms.vendor()));
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals(key, JSON.readTree(ok.body()).get("KeyMetadata").get("Arn").asText());

    HttpResponse<String> tampered =
        send(
            kms,
            new Raw()
                .target("TrentService.DescribeKey")
                .body(body)
                .signedBy(kms.vendor())
                .tamperAfterSigning());
    assertEquals(400, tampered.statusCode());
    JsonNode error = JSON.readTree(tampered.body());
    assertEquals("InvalidSignatureException", error.get("__type").asText());
    assertTrue(error.get("message").asText().contains("signature"));
    assertTrue(tampered.headers().firstValue("x-amzn-RequestId").isPresent());
  }

  @Test
  void aRequestWithoutAuthorizationIsRefusedWithMissingAuthenticationToken() throws Exception {
    HttpResponse<String> r = send(kms, new Raw().target("TrentService.ListKeys").body("{}"));
    assertEquals(400, r.statusCode());
    assertEquals(
        "MissingAuthenticationTokenException", JSON.readTree(r.body()).get("__type").asText());
  }

  @Test
  void aGarbledAuthorizationHeaderIsRefusedWithIncompleteSignature() throws Exception {
    var request =
        java.net.http.HttpRequest.newBuilder(kms.endpoint().resolve("/"))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", "TrentService.ListKeys")
            .header("Authorization", "AWS4-HMAC-SHA256 Credential=nonsense")
            .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}"))
            .build();
    HttpResponse<String> r =
        KmsTestSupport.HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    assertEquals(400, r.statusCode());
    assertEquals("IncompleteSignatureException", JSON.readTree(r.body()).get("__type").asText());
  }

  @Test
  void refusedAuthenticationsAreAllInTheTrail() throws Exception {
    send(kms, new Raw().target("TrentService.ListKeys").body("{}"));
    send(
        kms,
        new Raw()
            .target("TrentService.ListKeys")
            .body("{}")
            .signedBy(kms.admin())
            .tamperAfterSigning());
    List<TrailEvent> trail = kms.trail();
    assertEquals(2, trail.size());
    assertEquals("MissingAuthenticationTokenException", trail.get(0).errorCode());
    assertEquals("InvalidSignatureException", trail.get(1).errorCode());
    assertEquals(kms.admin().arn(), trail.get(1).userArn());
  }
}
