package com.panops.crypto.verify;

import static com.panops.crypto.verify.TimeToDarkTest.vendor;
import static com.panops.crypto.verify.Trails.KEY;
import static com.panops.crypto.verify.Trails.at;
import static com.panops.crypto.verify.Trails.vendorCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library's audit (JSON lines, one object per KMS attempt) against the vendor's trail records:
 * by request id; a lost response by its call id in the user agent; the rest listed per side.
 */
class ReconciliationTest {
  @TempDir Path dir;

  private static String audit(
      String op, String requestId, boolean success, boolean response, String callId, String error) {
    ObjectNode a = Trails.JSON.createObjectNode();
    a.put("operation", op).put("purpose", "probe").putNull("tenantId").put("keyArn", KEY);
    a.putObject("encryptionContext").put("tenant", "t-1");
    a.put("success", success).put("errorCode", error).put("requestId", requestId);
    a.put("latencyMillis", 3.5)
        .put("time", at(0).toString())
        .put("attempt", 1)
        .put("lastAttempt", true);
    a.put("responseReceived", response).put("callId", callId);
    return a.toString();
  }

  @Test
  void everyAttemptMatchesItsRecordAndWhatIsOnOneSideIsListed() throws IOException {
    ObjectNode ok = vendorCall("Decrypt", KEY, at(1), null);
    ObjectNode refused = vendorCall("Decrypt", KEY, at(2), "DisabledException");
    // a lost response KMS did handle: its record carries the call id in the user agent
    ObjectNode lostButDone =
        vendorCall(
            "Decrypt", KEY, at(3), null, "aws-sdk-java/2 panops-call/c-lost panops-purpose/probe");
    ObjectNode unexplained = vendorCall("GenerateDataKey", KEY, at(4), null);
    new Trails.Writer(dir).file(at(60), List.of(ok, refused, lostButDone, unexplained));
    Path log = dir.resolve("audit.jsonl");
    Files.write(
        log,
        List.of(
            audit("Decrypt", ok.get("requestID").asText(), true, true, "c1", null),
            audit(
                "Decrypt",
                refused.get("requestID").asText(),
                false,
                true,
                "c2",
                "DisabledException"),
            audit("Decrypt", null, false, false, "c-lost", "NoResponse"),
            audit("Decrypt", null, false, false, "c-never", "NoResponse"),
            audit("Decrypt", "rid-missing", true, true, "c5", null)));

    VerificationReport r =
        vendor()
            .auditLog(log)
            .build()
            .verify(TrailSource.folder(dir.resolve("AWSLogs").getParent()));

    JsonNode rec = r.json().path("reconciliation");
    assertEquals(5, rec.path("auditEvents").asInt());
    assertEquals(3, rec.path("matched").asInt());
    assertEquals(0, rec.path("mismatched").asInt());
    assertEquals(1, rec.path("trailOnlyCount").asInt());
    assertEquals(
        unexplained.get("requestID").asText(),
        rec.path("trailOnly").get(0).path("requestId").asText());
    assertEquals(2, rec.path("auditOnly").size());
    assertTrue(rec.path("auditOnly").get(0).path("reason").asText().contains("never reached KMS"));
    assertEquals("rid-missing", rec.path("auditOnly").get(1).path("requestId").asText());
    assertFalse(rec.path("reconciled").asBoolean());
  }

  @Test
  void anAttemptWhoseOutcomeDisagreesWithItsRecordIsAMismatch() throws IOException {
    ObjectNode refused = vendorCall("Decrypt", KEY, at(2), "DisabledException");
    new Trails.Writer(dir).file(at(60), List.of(refused));
    Path log = dir.resolve("audit.jsonl");
    Files.write(
        log, List.of(audit("Decrypt", refused.get("requestID").asText(), true, true, "c1", null)));

    VerificationReport r = vendor().auditLog(log).build().verify(TrailSource.folder(dir));

    assertEquals(1, r.json().path("reconciliation").path("mismatched").asInt());
    assertFalse(r.json().path("reconciliation").path("reconciled").asBoolean());
  }

  @Test
  void aLineThatIsNotAnAuditEventIsAClearError() throws IOException {
    new Trails.Writer(dir).file(at(60), List.of(vendorCall("Decrypt", KEY, at(2), null)));
    Path log = dir.resolve("audit.jsonl");
    Files.write(log, List.of("{\"hello\":1}"));

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> vendor().auditLog(log).build().verify(TrailSource.folder(dir)));
    assertTrue(
        e.getMessage().contains("line 1 is not a panops-crypto audit event"), e.getMessage());
  }
}
