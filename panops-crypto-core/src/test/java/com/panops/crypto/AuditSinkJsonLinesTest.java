package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** {@link AuditSink#jsonLines}: read back with Jackson, each event is the one written. */
class AuditSinkJsonLinesTest {

  static final ObjectMapper JSON = new ObjectMapper();

  static final String TRICKY =
      "q\"uote b\\ack nl\n cr\r tab\t nul\u0000 bell\u0007 us\u001f del\u007f é 日本 🔑 \u2028"
          + " / </script>";

  static AuditEvent event(String tenant, Map<String, String> ctx, String callId) {
    return new AuditEvent(
        "Decrypt",
        "probe",
        tenant,
        "arn:aws:kms:us-east-1:111122223333:key/k",
        ctx,
        false,
        "DisabledException",
        "req-1",
        Duration.ofNanos(12_345_678),
        Instant.parse("2030-05-01T12:00:00.123456789Z"),
        2,
        true,
        true,
        callId);
  }

  @Test
  void eachEventIsOneLineOfJson_whoseMembersReadBackAsTheEventsValues() throws Exception {
    StringWriter out = new StringWriter();
    Map<String, String> ctx = new LinkedHashMap<>();
    ctx.put("z-last", TRICKY);
    ctx.put("a-first", "1");
    ctx.put(TRICKY, "key too");
    AuditSink.jsonLines(out).record(event(TRICKY, ctx, "call-1"));

    String text = out.toString();
    assertTrue(text.endsWith("\n"));
    assertEquals(1, text.split("\n", -1).length - 1, "one line: " + text);
    JsonNode n = JSON.readTree(text);
    assertEquals("Decrypt", n.get("operation").asText());
    assertEquals("probe", n.get("purpose").asText());
    assertEquals(TRICKY, n.get("tenantId").asText());
    assertEquals("arn:aws:kms:us-east-1:111122223333:key/k", n.get("keyArn").asText());
    assertEquals(ctx, JSON.convertValue(n.get("encryptionContext"), Map.class));
    List<String> names = new ArrayList<>();
    n.get("encryptionContext").fieldNames().forEachRemaining(names::add);
    assertEquals(List.of("a-first", TRICKY, "z-last"), names, "sorted by key");
    assertFalse(n.get("success").asBoolean());
    assertTrue(n.get("success").isBoolean());
    assertEquals("DisabledException", n.get("errorCode").asText());
    assertEquals("req-1", n.get("requestId").asText());
    assertTrue(n.get("latencyMillis").isNumber());
    assertEquals(12.345678, n.get("latencyMillis").asDouble(), 1e-9);
    assertEquals(
        Instant.parse("2030-05-01T12:00:00.123456789Z"), Instant.parse(n.get("time").asText()));
    assertEquals(2, n.get("attempt").asInt());
    assertTrue(n.get("lastAttempt").asBoolean());
    assertTrue(n.get("responseReceived").asBoolean());
    assertEquals("call-1", n.get("callId").asText());
    assertEquals(14, n.size(), "exactly the documented members: " + n);
  }

  @Test
  void absentValuesAreJsonNull() throws Exception {
    StringWriter out = new StringWriter();
    AuditSink.jsonLines(out)
        .record(
            new AuditEvent(
                null, null, null, null, null, true, null, null, null, null, 1, true, true, null));
    JsonNode n = JSON.readTree(out.toString());
    for (String m :
        List.of(
            "operation",
            "purpose",
            "tenantId",
            "keyArn",
            "encryptionContext",
            "errorCode",
            "requestId",
            "latencyMillis",
            "time",
            "callId")) {
      assertTrue(n.get(m).isNull(), m + " in " + n);
    }
  }

  @Test
  void everyControlCharacterAndUnpairedSurrogateSurvivesTheRoundTrip() throws Exception {
    StringBuilder all = new StringBuilder();
    for (char c = 0; c < 0x80; c++) {
      all.append(c);
    }
    all.append('\ud800').append('x').append('\udfff').append("\ud83d\udd11");
    String s = all.toString();
    StringWriter out = new StringWriter();
    AuditSink.jsonLines(out).record(event(s, Map.of("k", s), "c"));
    String line = out.toString();
    assertEquals(line.length() - 1, line.indexOf('\n'), "no raw line break inside the line");
    String body = line.substring(0, line.length() - 1);
    for (char c = 0; c < 0x20; c++) {
      assertEquals(-1, body.indexOf(c), "control character " + (int) c + " written raw");
    }
    assertEquals(-1, body.indexOf('\ud800'), "an unpaired surrogate written raw");
    JsonNode n = JSON.readTree(line);
    assertEquals(s, n.get("tenantId").asText());
    assertEquals(s, n.get("encryptionContext").get("k").asText());
  }

  @Test
  void concurrentWritersProduceWholeLinesOnly() throws Exception {
    StringWriter out = new StringWriter();
    AuditSink sink = AuditSink.jsonLines(out);
    int threads = 4;
    int each = 500;
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      String tenant = "tenant-" + t + "-" + TRICKY;
      Thread th =
          new Thread(
              () -> {
                try {
                  start.await();
                } catch (InterruptedException e) {
                  return;
                }
                for (int i = 0; i < each; i++) {
                  sink.record(event(tenant, Map.of("i", Integer.toString(i)), tenant + "/" + i));
                }
              });
      th.start();
      ts.add(th);
    }
    start.countDown();
    for (Thread th : ts) {
      th.join();
    }
    String[] lines = out.toString().split("\n");
    assertEquals(threads * each, lines.length);
    Set<String> calls = new HashSet<>();
    for (String line : lines) {
      JsonNode n = JSON.readTree(line);
      assertTrue(n.get("callId").asText().startsWith(n.get("tenantId").asText() + "/"));
      calls.add(n.get("callId").asText());
    }
    assertEquals(threads * each, calls.size(), "every event once");
  }

  @Test
  void aFailingWriterIsAnUncheckedIoException() {
    Writer broken =
        new Writer() {
          @Override
          public void write(char[] cbuf, int off, int len) throws IOException {
            throw new IOException("disk full");
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    AuditSink sink = AuditSink.jsonLines(broken);
    UncheckedIOException e =
        assertThrows(UncheckedIOException.class, () -> sink.record(event("t", Map.of(), "c")));
    assertEquals("disk full", e.getCause().getMessage());
    assertThrows(NullPointerException.class, () -> AuditSink.jsonLines(null));
  }
}
