package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.time.Instant;

/**
 * What {@link TrailVerifier#verify} found: per key and per vendor principal, each cut, how long
 * until the vendor went dark, the first refused call, the restore, any violation; the probe rate;
 * summary figures; what of the input could not be used; and, with the library's audit, the
 * reconciliation. Written as text, as JSON (schema {@code panops-crypto-verify/1}, see the module
 * README) or as a self-contained HTML page.
 */
public final class VerificationReport {

  /** The outcome, most serious first. */
  public enum Verdict {
    /** The vendor succeeded at a data call more than the propagation window after a cut. */
    VIOLATION,
    /** No violation was found, but part of the input could not be read or placed in order. */
    INCOMPLETE,
    /** The input was read whole; the customer cut no vendor principal off any key in it. */
    NO_CUTS,
    /** The input was read whole, there were cuts, and no violation. */
    PASS;

    /** The command line's exit code: 0 for PASS and NO_CUTS, 1 for VIOLATION, 3 for INCOMPLETE. */
    public int exitCode() {
      return switch (this) {
        case VIOLATION -> 1;
        case INCOMPLETE -> 3;
        case NO_CUTS, PASS -> 0;
      };
    }
  }

  private final Verdict verdict;
  private final ObjectNode json;

  VerificationReport(TrailAnalysis analysis, Instant generatedAt) {
    ObjectNode draft = JsonReport.of(analysis, generatedAt, "");
    JsonNode s = draft.path("summary");
    if (s.path("violations").asLong() > 0) {
      verdict = Verdict.VIOLATION;
    } else if (!analysis.stats.complete()) {
      verdict = Verdict.INCOMPLETE;
    } else if (s.path("cuts").asLong() == 0) {
      verdict = Verdict.NO_CUTS;
    } else {
      verdict = Verdict.PASS;
    }
    draft.put("verdict", verdict.name());
    this.json = draft;
  }

  public Verdict verdict() {
    return verdict;
  }

  /** The number of cuts found (over all keys and vendor principals). */
  public long cuts() {
    return json.path("summary").path("cuts").asLong();
  }

  /** The number of violations found. */
  public long violations() {
    return json.path("summary").path("violations").asLong();
  }

  /** The report as a JSON document. */
  public String toJson() {
    try {
      return JsonReport.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The summary and each key's cuts and violations, for a terminal. */
  public String toText() {
    StringWriter w = new StringWriter();
    TextReport.write(json, w);
    return w.toString();
  }

  /** The self-contained HTML page (charts inlined; it loads nothing when opened). */
  public void writeHtml(Writer out) throws IOException {
    HtmlReport.write(json, out);
  }

  /** The JSON document as a tree (for this package's tests and reports). */
  JsonNode json() {
    return json;
  }

  @Override
  public String toString() {
    return "VerificationReport["
        + verdict
        + ", cuts="
        + cuts()
        + ", violations="
        + violations()
        + "]";
  }
}
