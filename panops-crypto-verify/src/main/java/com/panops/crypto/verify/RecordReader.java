package com.panops.crypto.verify;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads one CloudTrail log file as CloudTrail delivers it (gzipped or plain JSON, one object with a
 * {@code Records} array), streaming: one record is in memory at a time. Records of other services
 * are counted and dropped; a malformed record is counted and named in the stats; a file that breaks
 * off (truncated gzip, JSON cut short) keeps the records read before the break and is named as
 * unreadable from there.
 */
final class RecordReader {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final RecordFields fields;
  private final InputStats stats;

  RecordReader(RecordFields fields, InputStats stats) {
    this.fields = fields;
    this.stats = stats;
  }

  /** Reads {@code in} (closed here), handing each KMS record to {@code sink} in file order. */
  void read(String source, InputStream in, Consumer<KmsRecord> sink) {
    stats.files++;
    int index = 0;
    try (InputStream body = decompressed(in)) {
      JsonParser p = MAPPER.getFactory().createParser(body);
      if (!toRecordsArray(p)) {
        stats.unreadable(source, "not a CloudTrail log file (no top-level Records array)");
        return;
      }
      JsonToken t;
      while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
        if (t == null) {
          throw new EOFException("end of input inside the Records array");
        }
        JsonNode node = MAPPER.readTree(p);
        index++;
        accept(source, index, node, sink);
      }
    } catch (EOFException | ZipException e) {
      stats.unreadable(source, "cut short after record " + index + " (" + problem(e) + ")");
    } catch (IOException e) {
      stats.unreadable(source, "unreadable after record " + index + " (" + problem(e) + ")");
    }
  }

  private void accept(String source, int index, JsonNode node, Consumer<KmsRecord> sink) {
    stats.records++;
    if (node == null || !node.isObject()) {
      stats.malformed(source, index, "not a JSON object");
      return;
    }
    if (!"kms.amazonaws.com".equals(node.path("eventSource").asText(null))) {
      stats.otherServices++;
      return;
    }
    try {
      KmsRecord r = fields.of(node, source);
      stats.kmsRecords++;
      sink.accept(r);
    } catch (MalformedRecord e) {
      stats.malformed(source, index, e.getMessage());
    }
  }

  /** Moves the parser onto the START_ARRAY of the top-level {@code Records} member. */
  private static boolean toRecordsArray(JsonParser p) throws IOException {
    if (p.nextToken() != JsonToken.START_OBJECT) {
      return false;
    }
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if ("Records".equals(name) && v == JsonToken.START_ARRAY) {
        return true;
      }
      p.skipChildren();
    }
    if (t == null) {
      throw new EOFException("end of input before a Records array");
    }
    return false;
  }

  /** Gunzips when the stream starts with gzip's magic bytes, whatever the file is called. */
  private static InputStream decompressed(InputStream in) throws IOException {
    BufferedInputStream b = new BufferedInputStream(in, 64 * 1024);
    b.mark(2);
    int b0 = b.read();
    int b1 = b.read();
    b.reset();
    if (b0 == 0x1f && b1 == 0x8b) {
      return new GZIPInputStream(b, 64 * 1024);
    }
    return b;
  }

  private static String problem(IOException e) {
    String m = e.getMessage();
    String first = m == null ? e.getClass().getSimpleName() : m.lines().findFirst().orElse("");
    return first.length() > 200 ? first.substring(0, 200) + "..." : first;
  }

  /** A record this reader cannot use; its message names what is missing or wrong. */
  static final class MalformedRecord extends Exception {
    private static final long serialVersionUID = 1L;

    MalformedRecord(String message) {
      super(message, null, false, false);
    }
  }

  /** {@code eventTime} as an instant, or a MalformedRecord. */
  static Instant time(JsonNode node) throws MalformedRecord {
    String s = node.path("eventTime").asText(null);
    if (s == null) {
      throw new MalformedRecord("no eventTime");
    }
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      throw new MalformedRecord("eventTime is not an ISO-8601 instant");
    }
  }
}
