package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.io.Writer;
import java.util.Locale;

/** The report as a short text for a terminal, drawn from the JSON document. */
final class TextReport {
  private TextReport() {}

  static void write(JsonNode r, Writer w) {
    PrintWriter out = new PrintWriter(w);
    JsonNode in = r.path("input");
    JsonNode s = r.path("summary");
    out.printf(Locale.ROOT, "panops-crypto-verify: %s%n", r.path("verdict").asText());
    out.printf(
        Locale.ROOT,
        "read %d files, %d records (%d KMS, %d other services, %d duplicates dropped), %s to %s%n",
        in.path("files").asLong(),
        in.path("records").asLong(),
        in.path("kmsRecords").asLong(),
        in.path("otherServices").asLong(),
        in.path("duplicates").asLong(),
        in.path("firstEvent").asText("-"),
        in.path("lastEvent").asText("-"));
    if (!in.path("complete").asBoolean()) {
      out.printf(
          Locale.ROOT,
          "INCOMPLETE INPUT: %d unreadable files, %d malformed records, %d records too late to order%n",
          in.path("unreadableFiles").asLong(),
          in.path("malformed").asLong(),
          in.path("late").asLong());
      for (JsonNode p : in.path("unreadable")) {
        out.printf("  %s: %s%n", p.path("source").asText(), p.path("problem").asText());
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
    out.printf("%nkey %s%n", k.path("keyArn").asText());
    for (JsonNode p : k.path("principals")) {
      JsonNode probes = p.path("probes");
      out.printf(
          Locale.ROOT,
          "  %s: %d successful and %d refused calls%s%n",
          p.path("principal").asText(),
          p.path("calls").path("success").asLong(),
          p.path("calls").path("refused").asLong(),
          probes.isObject()
              ? String.format(
                  Locale.ROOT,
                  ", %d probes (median interval %ss, max %ss)",
                  probes.path("decrypts").asLong(),
                  probes.path("medianIntervalSeconds").asText("-"),
                  probes.path("maxIntervalSeconds").asText("-"))
              : "");
      for (JsonNode c : p.path("cuts")) {
        out.printf(
            Locale.ROOT,
            "    cut %s by %s: dark after %ss, first refusal %s%s%n",
            c.path("at").asText(),
            c.path("by").asText(),
            c.path("timeToDarkSeconds").asText(),
            c.path("firstRefused").isNull()
                ? "none"
                : "after "
                    + c.path("timeToFirstRefusalSeconds").asText()
                    + "s ("
                    + c.path("firstRefusedErrorCode").asText()
                    + ")",
            c.path("restoredAt").isNull()
                ? ""
                : "; restored "
                    + c.path("restoredAt").asText()
                    + " by "
                    + c.path("restoredBy").asText());
      }
      for (JsonNode v : p.path("violations")) {
        out.printf(
            Locale.ROOT,
            "    VIOLATION: %s succeeded at %s, %ss after the cut of %s (request %s)%n",
            v.path("eventName").asText(),
            v.path("at").asText(),
            v.path("secondsAfterCut").asText(),
            v.path("cutAt").asText(),
            v.path("requestId").asText("-"));
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
          u.path("operation").asText(), u.path("requestId").asText("-"), u.path("reason").asText());
    }
    for (JsonNode u : rec.path("trailOnly")) {
      out.printf(
          "  trail only: %s %s at %s%n",
          u.path("operation").asText(), u.path("requestId").asText("-"), u.path("at").asText());
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
        q.path("max").asText());
  }
}
