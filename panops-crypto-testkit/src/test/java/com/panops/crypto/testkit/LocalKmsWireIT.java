package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.JSON;
import static com.panops.crypto.testkit.KmsTestSupport.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.panops.crypto.testkit.KmsTestSupport.Raw;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Raw HTTP against LocalKms: malformed input gets KMS-shaped errors, never a crash or a hang. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocalKmsWireIT {

  private LocalKms kms;
  private String key;

  @BeforeAll
  void start() {
    kms = LocalKms.start();
    key = kms.createKey("wire");
  }

  @AfterAll
  void stop() {
    kms.close();
  }

  private HttpResponse<String> signed(String target, String body) throws Exception {
    return send(kms, new Raw().target(target).body(body).signedBy(kms.vendor()));
  }

  /** Asserts a KMS-shaped error and returns its message. */
  private static String assertKmsError(HttpResponse<String> r, int status, String type)
      throws IOException {
    assertEquals(status, r.statusCode(), r.body());
    assertEquals("application/x-amz-json-1.1", r.headers().firstValue("Content-Type").orElse(""));
    assertTrue(r.headers().firstValue("x-amzn-RequestId").isPresent());
    JsonNode body = JSON.readTree(r.body());
    assertEquals(type, body.get("__type").asText(), r.body());
    assertTrue(body.get("message").isTextual());
    return body.get("message").asText();
  }

  private void assertStillServing() throws Exception {
    HttpResponse<String> r = signed("TrentService.DescribeKey", "{\"KeyId\":\"" + key + "\"}");
    assertEquals(200, r.statusCode(), r.body());
  }

  @Test
  void aSignedWellFormedRequestGetsA200JsonAnswer() throws Exception {
    HttpResponse<String> r =
        signed(
            "TrentService.GenerateDataKey", "{\"KeyId\":\"" + key + "\",\"KeySpec\":\"AES_256\"}");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode body = JSON.readTree(r.body());
    assertEquals(key, body.get("KeyId").asText());
    assertEquals(32, Base64.getDecoder().decode(body.get("Plaintext").asText()).length);
  }

  @Test
  void malformedJsonIsASerializationException() throws Exception {
    for (String bad :
        List.of(
            "{\"KeyId\":",
            "not json",
            "[1,2]",
            "{\"KeyId\":\"a\"} trailing",
            "{\"KeyId\":\"a\",\"KeyId\":\"b\"}")) {
      assertKmsError(signed("TrentService.DescribeKey", bad), 400, "SerializationException");
    }
    assertStillServing();
  }

  @Test
  void membersOfTheWrongTypeOrBadBase64AreSerializationExceptions() throws Exception {
    assertKmsError(
        signed("TrentService.DescribeKey", "{\"KeyId\":42}"), 400, "SerializationException");
    assertKmsError(
        signed(
            "TrentService.GenerateDataKey",
            "{\"KeyId\":\"" + key + "\",\"NumberOfBytes\":\"thirty-two\"}"),
        400,
        "SerializationException");
    assertKmsError(
        signed("TrentService.Decrypt", "{\"CiphertextBlob\":\"***not base64***\"}"),
        400,
        "SerializationException");
    assertKmsError(
        signed(
            "TrentService.GenerateDataKey",
            "{\"KeyId\":\"" + key + "\",\"NumberOfBytes\":32,\"EncryptionContext\":{\"a\":1}}"),
        400,
        "SerializationException");
  }

  @Test
  void unknownMembersAreValidationExceptions() throws Exception {
    String message =
        assertKmsError(
            signed("TrentService.DescribeKey", "{\"KeyId\":\"" + key + "\",\"KeyID\":\"typo\"}"),
            400,
            "ValidationException");
    assertTrue(message.contains("KeyID"), message);
  }

  @Test
  void missingRequiredMembersAreValidationExceptions() throws Exception {
    assertKmsError(signed("TrentService.DescribeKey", "{}"), 400, "ValidationException");
    assertKmsError(signed("TrentService.Decrypt", "{}"), 400, "ValidationException");
  }

  @Test
  void aMissingTargetHeaderIsAnUnknownOperation() throws Exception {
    assertKmsError(
        send(kms, new Raw().target(null).body("{}").signedBy(kms.vendor())),
        400,
        "UnknownOperationException");
    assertStillServing();
  }

  @Test
  void unknownOperationsAndForeignTargetsAreUnknownOperations() throws Exception {
    assertKmsError(
        signed("TrentService.DeleteImportedKeyMaterial", "{}"), 400, "UnknownOperationException");
    assertKmsError(signed("DynamoDB_20120810.ListTables", "{}"), 400, "UnknownOperationException");
    assertKmsError(signed("TrentService.", "{}"), 400, "UnknownOperationException");
  }

  @Test
  void anOversizedBodyIsRefusedWithAKmsShapedErrorAndTheServerKeepsServing() throws Exception {
    byte[] big = new byte[100 * 1024];
    Arrays.fill(big, (byte) ' ');
    big[0] = '{';
    big[big.length - 1] = '}';
    HttpResponse<String> r =
        send(kms, new Raw().target("TrentService.DescribeKey").body(big).signedBy(kms.vendor()));
    String message = assertKmsError(r, 400, "ValidationException");
    assertTrue(message.contains("maximum"), message);
    assertStillServing();
  }

  @Test
  void anEndlessStreamedBodyIsCutOffWithoutAHang() throws Exception {
    // 64 MiB streamed with chunked encoding: LocalKms stops reading after its limit (plus a
    // bounded drain) and answers or closes; it must never read it all or hang.
    InputStream endless =
        new InputStream() {
          long left = 64L << 20;

          @Override
          public int read() {
            return left-- > 0 ? ' ' : -1;
          }

          @Override
          public int read(byte[] b, int off, int len) {
            if (left <= 0) {
              return -1;
            }
            int n = (int) Math.min(len, left);
            Arrays.fill(b, off, off + n, (byte) ' ');
            left -= n;
            return n;
          }
        };
    HttpRequest request =
        HttpRequest.newBuilder(kms.endpoint().resolve("/"))
            .timeout(Duration.ofSeconds(20))
            .header("Content-Type", "application/x-amz-json-1.1")
            .header("X-Amz-Target", "TrentService.DescribeKey")
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> endless))
            .build();
    long start = System.nanoTime();
    try {
      HttpResponse<String> r =
          KmsTestSupport.HTTP.send(request, HttpResponse.BodyHandlers.ofString());
      assertKmsError(r, 400, "ValidationException");
    } catch (IOException expectedWhenTheServerClosesFirst) {
      // the server closed the connection after its bounded drain: also a refusal
    }
    assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(15)) < 0);
    assertStillServing();
  }

  @Test
  void aGetRequestIsRefusedKmsStyle() throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(kms.endpoint().resolve("/"))
            .timeout(Duration.ofSeconds(10))
            .GET()
            .build();
    HttpResponse<String> r =
        KmsTestSupport.HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    assertKmsError(r, 400, "UnknownOperationException");
  }

  @Test
  void anEmptyBodyIsAnEmptyRequest() throws Exception {
    HttpResponse<String> r = signed("TrentService.DescribeKey", "");
    assertKmsError(r, 400, "ValidationException");
    assertFalse(r.body().contains("Exception in"), r.body());
  }

  @Test
  void errorBodiesAreUtf8Json() throws Exception {
    HttpResponse<String> r = signed("TrentService.DescribeKey", "{\"KeyId\":\"alias/ünïcode\"}");
    String message = assertKmsError(r, 400, "NotFoundException");
    assertTrue(message.contains("ünïcode"), message);
    assertTrue(r.body().getBytes(StandardCharsets.UTF_8).length > 0);
  }
}
