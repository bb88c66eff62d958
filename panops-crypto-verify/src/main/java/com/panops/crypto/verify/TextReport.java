package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.Writer;
import java.util.Locale;

/** The report as a short text for a terminal, drawn from the JSON document. */
final class TextReport {
  private TextReport() {}

  /**
   * A string from the trail as terminal-safe text: C0 and C1 controls, the line and paragraph
   * separators and the bidirectional controls written as {@code \\uXXXX}, so that no record can
   * move the cursor, clear the screen or reorder what a reader sees.
   */
  static String safe(String s) {
    if (s == null) {
      return null;
    }
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean bad =
          c < 0x20
              || (c >= 0x7f && c <= 0x9f)
              || c == '\u2028'
              || c == '\u2029'
              || (c >= '\u202a' && c <= '\u202e')
              || (c >= '\u2066' && c <= '\u2069')
              || (c >= '\u200b' && c <= '\u200f')
              || c == '\u061c'
              || c == '\u2060'
              || c == '\ufeff';
      if (bad && b == null) {
        b = new StringBuilder(s.length() + 16).append(s, 0, i);
      }
      if (bad) {
        b.append(String.format("\\u%04x", (int) c));
      } else if (b != null) {
        b.append(c);
      }
    }
    return b == null ? s : b.toString();
  }

  private static String text(JsonNode n) {
    return safe(n.asText());
  }

  private static String text(JsonNode n, String orElse) {
    return n.isMissingNode() || n.isNull() ? orElse : safe(n.asText());
  }

  static void write(JsonNode r, Writer w) {
    PrintWriter out = new PrintWriter(w);
    JsonNode in = r.path("input");
    JsonNode s = r.path("summary");
    out.printf(Locale.ROOT, "panops-crypto-verify: %s%n", text(r.path("verdict")));
    out.printf(
        Locale.ROOT,
        "read %d files, %d records (%d KMS, %d other services, %d duplicates dropped), %s to %s%n",
        in.path("files").asLong(),
        in.path("records").asLong(),
        in.path("kmsRecords").asLong(),
        in.path("otherServices").asLong(),
        in.path("duplicates").asLong(),
        text(in.path("firstEvent"), "-"),
        text(in.path("lastEvent"), "-"));
    if (!in.path("complete").asBoolean()) {
      out.printf(
          Locale.ROOT,
          "INCOMPLETE INPUT: %d unreadable files, %d malformed records, %d records too late to order%n",
          in.path("unreadableFiles").asLong(),
          in.path("malformed").asLong(),
          in.path("late").asLong());
      for (JsonNode p : in.path("unreadable")) {
        out.printf("  %s: %s%n", text(p.path("source")), text(p.path("problem")));
      }
    }
    out.printf(
        Locale.ROOT,
        "%d keys, %d cuts, %d violations; time to dark %s; time to first refusal %s%n",
        s.path("keys").asLong(),
        s.path("cuts").asLong(),
        s.path("violations").asLong(),
        quantiles(s.path("timeToDarkSeconds")),
        quantiles(s.path("timeToFirstRefusalSeconds")));
    for (JsonNode k : r.path("keys")) {
      key(out, k);
    }
    reconciliation(out, r.path("reconciliation"));
    out.flush();
  }

  private static void key(PrintWriter out, JsonNode k) {
    out.printf("%nkey %s%n", text(k.path("keyArn")));
    for (JsonNode p : k.path("principals")) {
      JsonNode probes = p.path("probes");
      out.printf(
          Locale.ROOT,
          "  %s: %d successful and %d refused calls%s%n",
          text(p.path("principal")),
          p.path("calls").path("success").asLong(),
          p.path("calls").path("refused").asLong(),
          probes.isObject()
              ? String.format(
                  Locale.ROOT,
                  ", %d probes (median interval %ss, max %ss)",
                  probes.path("decrypts").asLong(),
                  text(probes.path("medianIntervalSeconds"), "-"),
                  text(probes.path("maxIntervalSeconds"), "-"))
              : "");
      for (JsonNode c : p.path("cuts")) {
        out.printf(
            Locale.ROOT,
            "    cut %s by %s: dark after %ss, first refusal %s%s%n",
            text(c.path("at")),
            text(c.path("by")),
            text(c.path("timeToDarkSeconds")),
            c.path("firstRefused").isNull()
                ? "none"
                : "after "
                    + text(c.path("timeToFirstRefusalSeconds"))
                    + "s ("
                    + text(c.path("firstRefusedErrorCode"))
                    + ")",
            c.path("restoredAt").isNull()
                ? ""
                : "; restored " + text(c.path("restoredAt")) + " by " + text(c.path("restoredBy")));
      }
      for (JsonNode v : p.path("violations")) {
        out.printf(
            Locale.ROOT,
            "    VIOLATION: %s succeeded at %s, %ss after the cut of %s (request %s)%n",
            text(v.path("eventName")),
            text(v.path("at")),
            text(v.path("secondsAfterCut")),
            text(v.path("cutAt")),
            text(v.path("requestId"), "-"));
      }
    }
  }

  private static void reconciliation(PrintWriter out, JsonNode rec) {
    if (!rec.isObject()) {
      return;
    }
    out.printf(
        Locale.ROOT,
        "%nreconciliation with the library's audit: %s (%d audit events, %d matched, %d mismatched, %d only in the audit, %d only in the trail)%n",
        rec.path("reconciled").asBoolean() ? "reconciled" : "NOT RECONCILED",
        rec.path("auditEvents").asLong(),
        rec.path("matched").asLong(),
        rec.path("mismatched").asLong(),
        rec.path("auditOnly").size(),
        rec.path("trailOnlyCount").asLong());
    for (JsonNode u : rec.path("auditOnly")) {
      out.printf(
          "  audit only: %s %s: %s%n",
          text(u.path("operation")), text(u.path("requestId"), "-"), text(u.path("reason")));
    }
    for (JsonNode u : rec.path("trailOnly")) {
      out.printf(
          "  trail only: %s %s at %s%n",
          text(u.path("operation")), text(u.path("requestId"), "-"), text(u.path("at")));
    }
  }

  private static String quantiles(JsonNode q) {
    if (!q.isObject()) {
      return "-";
    }
    return String.format(
        Locale.ROOT,
        "p50 %ss, p99 %ss, max %ss",
        q.path("p50").asText(),
        q.path("p99").asText(),
        text(q.path("max")));
  }
}
