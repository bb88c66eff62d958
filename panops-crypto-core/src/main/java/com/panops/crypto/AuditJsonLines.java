package com.panops.crypto;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.math.BigDecimal;
import java.util.Comparator;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * {@link AuditSink#jsonLines(Writer)}: each event as one JSON object on one line, flushed. The
 * encoder is written by hand because the core takes no JSON dependency (it must not pin a Jackson
 * version on its users); it only ever writes strings, numbers, booleans, null and one flat object
 * of strings, which is all an {@link AuditEvent} holds.
 */
final class AuditJsonLines implements AuditSink {

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final Writer out;

  AuditJsonLines(Writer out) {
    this.out = Objects.requireNonNull(out, "out");
  }

  @Override
  public void record(AuditEvent e) {
    String line = line(e);
    synchronized (this) {
      try {
        out.write(line);
        out.write('\n');
        out.flush();
      } catch (IOException ex) {
        throw new UncheckedIOException("cannot write the audit event", ex);
      }
    }
  }

  /** The event as one line of JSON, without the line break. */
  static String line(AuditEvent e) {
    StringBuilder b = new StringBuilder(256);
    b.append('{');
    member(b, "operation").append(string(e.operation()));
    b.append(',');
    member(b, "purpose").append(string(e.purpose()));
    b.append(',');
    member(b, "tenantId").append(string(e.tenantId()));
    b.append(',');
    member(b, "keyArn").append(string(e.keyArn()));
    b.append(',');
    member(b, "encryptionContext");
    context(b, e.encryptionContext());
    b.append(',');
    member(b, "success").append(e.success());
    b.append(',');
    member(b, "errorCode").append(string(e.errorCode()));
    b.append(',');
    member(b, "requestId").append(string(e.requestId()));
    b.append(',');
    member(b, "latencyMillis")
        .append(
            e.latency() == null
                ? "null"
                : BigDecimal.valueOf(e.latency().toNanos(), 6)
                    .stripTrailingZeros()
                    .toPlainString());
    b.append(',');
    member(b, "time").append(string(e.time() == null ? null : e.time().toString()));
    b.append(',');
    member(b, "attempt").append(e.attempt());
    b.append(',');
    member(b, "lastAttempt").append(e.lastAttempt());
    b.append(',');
    member(b, "responseReceived").append(e.responseReceived());
    b.append(',');
    member(b, "callId").append(string(e.callId()));
    return b.append('}').toString();
  }

  private static StringBuilder member(StringBuilder b, String name) {
    return b.append('"').append(name).append("\":");
  }

  private static void context(StringBuilder b, Map<String, String> context) {
    if (context == null) {
      b.append("null");
      return;
    }
    Map<String, String> sorted = new TreeMap<>(Comparator.nullsFirst(Comparator.naturalOrder()));
    sorted.putAll(context);
    b.append('{');
    boolean first = true;
    for (Map.Entry<String, String> m : sorted.entrySet()) {
      if (!first) {
        b.append(',');
      }
      first = false;
      b.append(string(String.valueOf(m.getKey()))).append(':').append(string(m.getValue()));
    }
    b.append('}');
  }

  /**
   * A JSON string literal, or {@code null}: quote and backslash escaped, control characters,
   * U+2028, U+2029 and unpaired surrogates as {@code \\uXXXX}; everything else as is.
   */
  static String string(String s) {
    if (s == null) {
      return "null";
    }
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20 || c == '\u2028' || c == '\u2029') {
        unicode(b, c);
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        b.append(c).append(s.charAt(++i));
      } else if (Character.isSurrogate(c)) {
        unicode(b, c);
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }

  private static void unicode(StringBuilder b, char c) {
    b.append("\\u")
        .append(HEX[(c >> 12) & 0xf])
        .append(HEX[(c >> 8) & 0xf])
        .append(HEX[(c >> 4) & 0xf])
        .append(HEX[c & 0xf]);
  }
}
