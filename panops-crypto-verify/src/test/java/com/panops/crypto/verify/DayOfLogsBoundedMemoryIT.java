package com.panops.crypto.verify;

import static com.panops.crypto.verify.Trails.KEY;
import static com.panops.crypto.verify.Trails.KEY_2;
import static com.panops.crypto.verify.Trails.VENDOR_ROLE;
import static com.panops.crypto.verify.Trails.adminChange;
import static com.panops.crypto.verify.Trails.vendorCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A day of a busy account's logs (288 files of five minutes, 300,000 KMS records, about 300 MB of
 * JSON) verified by the command line in a JVM of its own with a 48 MB heap: reading streams, and
 * memory holds one reorder window (an hour) of records, not the day.
 */
@Tag("process-level")
class DayOfLogsBoundedMemoryIT {
  private static final int FILES = 288;
  private static final int PER_FILE = 1_042;
  private static final Instant DAY = Instant.parse("2026-12-07T00:00:00Z");
  @TempDir Path dir;

  @Test
  void aDayOfLogsIsVerifiedInA48MegabyteHeap() throws Exception {
    long written = writeDay(dir.resolve("trail"));
    assertTrue(written > 250_000_000L, "uncompressed JSON bytes: " + written);
    Path json = dir.resolve("report.json");
    Path log = dir.resolve("child.log");
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx48m",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName(),
                "--vendor",
                VENDOR_ROLE,
                "--quiet",
                "--json",
                json.toString(),
                dir.resolve("trail").toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    assertTrue(p.waitFor(10, TimeUnit.MINUTES), "the verifier finished");
    assertEquals(0, p.exitValue(), () -> read(log));
    JsonNode r = Trails.JSON.readTree(json.toFile());
    assertEquals(FILES, r.path("input").path("files").asInt());
    assertEquals((long) FILES * PER_FILE + 2, r.path("input").path("kmsRecords").asLong());
    assertEquals("PASS", r.path("verdict").asText());
    assertEquals(1, r.path("summary").path("cuts").asInt());
    assertTrue(
        r.path("keys").get(0).path("principals").get(0).path("activity").size()
            <= Activity.MAX_BUCKETS);
  }

  /** Writes the day's files (records streamed into gzip); returns the uncompressed size. */
  private static long writeDay(Path root) throws IOException {
    DateTimeFormatter day = DateTimeFormatter.ofPattern("yyyy/MM/dd").withZone(ZoneOffset.UTC);
    DateTimeFormatter stamp =
        DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmm'Z'").withZone(ZoneOffset.UTC);
    long bytes = 0;
    Instant cut = DAY.plusSeconds(12 * 3600);
    for (int f = 0; f < FILES; f++) {
      Instant start = DAY.plusSeconds(300L * f);
      Path d = root.resolve("AWSLogs/111122223333/CloudTrail/us-east-1/" + day.format(start));
      Files.createDirectories(d);
      Path file =
          d.resolve(
              "111122223333_CloudTrail_us-east-1_"
                  + stamp.format(start.plusSeconds(300))
                  + "_"
                  + f
                  + ".json.gz");
      try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file), 1 << 16);
          JsonGenerator g = Trails.JSON.getFactory().createGenerator(out)) {
        g.writeStartObject();
        g.writeArrayFieldStart("Records");
        for (int i = 0; i < PER_FILE; i++) {
          Instant t = start.plusMillis(300_000L * i / PER_FILE);
          boolean after = !t.isBefore(cut);
          String key = i % 2 == 0 ? KEY : KEY_2;
          String error = after && key.equals(KEY) ? "DisabledException" : null;
          byte[] rec = Trails.JSON.writeValueAsBytes(vendorCall("Decrypt", key, t, error));
          bytes += rec.length;
          g.writeRawValue(new String(rec, java.nio.charset.StandardCharsets.UTF_8));
        }
        if (f == 144) {
          g.writeObject(adminChange("DisableKey", KEY, cut));
          g.writeObject(adminChange("EnableKey", KEY, cut.plusSeconds(20 * 3600)));
        }
        g.writeEndArray();
        g.writeEndObject();
      }
    }
    return bytes;
  }

  private static String read(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return e.toString();
    }
  }

  static final List<String> KEYS = List.of(KEY, KEY_2);
}
