package com.panops.crypto.verify;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.util.JsonParserDelegate;
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
 * {@code Records} array; several such documents, or several gzip members, are all read), streaming:
 * one record is in memory at a time, and a record may hold at most {@link #MAX_TOKENS_PER_RECORD}
 * JSON tokens and strings of at most {@link #MAX_STRING} characters (a KMS record has about a
 * hundred tokens; a key policy is at most 32 KB), so a hostile file (a gzip bomb of one huge
 * record) cannot exhaust memory. Records of other services are counted and dropped; a malformed
 * record is counted and named; a file that breaks off, holds a record past those limits, or has
 * anything but log documents keeps the records read before and is named as unreadable from there.
 */
final class RecordReader {
  static final int MAX_TOKENS_PER_RECORD = 100_000;
  static final int MAX_STRING = 1 << 20;

  /** Characters of strings and member names a record may hold (a key policy is at most 32 KB). */
  static final int MAX_CHARS_PER_RECORD = 256 * 1024;

  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxStringLength(MAX_STRING)
                  .maxNestingDepth(64)
                  .maxNumberLength(100)
                  .build())
          .build();
  private static final ObjectMapper MAPPER = new ObjectMapper(FACTORY);

  private final RecordFields fields;
  private final InputStats stats;

  RecordReader(RecordFields fields, InputStats stats) {
    this.fields = fields;
    this.stats = stats;
  }

  /** Reads {@code in} (closed here), handing each KMS record to {@code sink} in file order. */
  void read(String source, InputStream in, Consumer<KmsRecord> sink) {
    stats.files++;
    int[] index = {0};
    try (InputStream body = decompressed(in);
        Budgeted p = new Budgeted(FACTORY.createParser(body))) {
      int documents = 0;
      JsonToken t;
      while ((t = p.nextToken()) != null) {
        if (t != JsonToken.START_OBJECT || !document(p, source, index, sink)) {
          stats.unreadable(
              source,
              documents == 0 && index[0] == 0
                  ? "not a CloudTrail log file (no top-level Records array)"
                  : "unreadable after record " + index[0] + " (content other than log documents)");
          return;
        }
        documents++;
      }
      if (documents == 0) {
        stats.unreadable(source, "not a CloudTrail log file (empty)");
      }
    } catch (EOFException | ZipException e) {
      stats.unreadable(source, "cut short after record " + index[0] + " (" + problem(e) + ")");
    } catch (IOException e) {
      stats.unreadable(source, "unreadable after record " + index[0] + " (" + problem(e) + ")");
    }
  }

  /** One log document, from its START_OBJECT: every {@code Records} array in it is read. */
  private boolean document(Budgeted p, String source, int[] index, Consumer<KmsRecord> sink)
      throws IOException {
    boolean records = false;
    JsonToken t;
    while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      JsonToken v = p.nextToken();
      if ("Records".equals(name) && v == JsonToken.START_ARRAY) {
        records = true;
        readRecords(p, source, index, sink);
      } else {
        p.skipChildren();
      }
    }
    if (t == null) {
      throw new EOFException("end of input inside a log document");
    }
    return records;
  }

  private void readRecords(Budgeted p, String source, int[] index, Consumer<KmsRecord> sink)
      throws IOException {
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t == null) {
        throw new EOFException("end of input inside the Records array");
      }
      p.budget = MAX_TOKENS_PER_RECORD;
      p.chars = MAX_CHARS_PER_RECORD;
      JsonNode node = MAPPER.readTree(p);
      p.budget = Integer.MAX_VALUE;
      p.chars = Long.MAX_VALUE;
      index[0]++;
      accept(source, index[0], node, sink);
    }
  }

  private void accept(String source, int index, JsonNode node, Consumer<KmsRecord> sink) {
    stats.records++;
    if (node == null || !node.isObject()) {
      stats.malformed(source, index, "not a JSON object");
      return;
    }
    JsonNode es = node.get("eventSource");
    if (es == null || !es.isTextual()) {
      stats.malformed(source, index, "no eventSource");
      return;
    }
    if (!"kms.amazonaws.com".equals(es.asText())) {
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

  /** The parser, failing a record that holds more tokens or characters than its budget. */
  private static final class Budgeted extends JsonParserDelegate {
    int budget = Integer.MAX_VALUE;
    long chars = Long.MAX_VALUE;

    Budgeted(JsonParser p) {
      super(p);
    }

    @Override
    public JsonToken nextToken() throws IOException {
      if (--budget < 0) {
        throw new IOException(
            "a record of more than " + MAX_TOKENS_PER_RECORD + " JSON tokens (not CloudTrail's)");
      }
      JsonToken t = super.nextToken();
      if (t == JsonToken.VALUE_STRING || t == JsonToken.FIELD_NAME) {
        chars -= getTextLength();
        if (chars < 0) {
          throw new IOException(
              "a record of more than " + MAX_CHARS_PER_RECORD + " characters (not CloudTrail's)");
        }
      }
      return t;
    }
  }

  /** A record this reader cannot use; its message names what is missing or wrong. */
  static final class MalformedRecord extends Exception {
    private static final long serialVersionUID = 1L;

    MalformedRecord(String message) {
      super(message, null, false, false);
    }
  }

  /** The earliest event time accepted (KMS and CloudTrail are younger). */
  static final Instant EARLIEST = Instant.parse("2010-01-01T00:00:00Z");

  /** {@code eventTime} as an instant between 2010 and {@code latest}, or a MalformedRecord. */
  static Instant time(JsonNode node, Instant latest) throws MalformedRecord {
    JsonNode v = node.get("eventTime");
    if (v == null || !v.isTextual()) {
      throw new MalformedRecord("no eventTime");
    }
    Instant t;
    try {
      t = Instant.parse(v.asText());
    } catch (DateTimeParseException e) {
      throw new MalformedRecord("eventTime is not an ISO-8601 instant");
    }
    if (t.isBefore(EARLIEST) || t.isAfter(latest)) {
      throw new MalformedRecord("eventTime " + t + " is outside 2010 to a day from now");
    }
    return t;
  }
}
