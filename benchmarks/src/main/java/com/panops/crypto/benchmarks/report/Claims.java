package com.panops.crypto.benchmarks.report;

import static com.panops.crypto.benchmarks.report.Cells.IMPL_NAMES;
import static com.panops.crypto.benchmarks.report.Cells.OPS;
import static com.panops.crypto.benchmarks.report.Cells.S3_OPS;
import static com.panops.crypto.benchmarks.report.Cells.S3_SIZES;
import static com.panops.crypto.benchmarks.report.Cells.fmt;
import static com.panops.crypto.benchmarks.report.Cells.lc;
import static com.panops.crypto.benchmarks.report.Cells.size;

import java.util.Locale;

/**
 * The claims and targets table: each target with the measured ratio, its 95% interval and its
 * verdict (see {@link Verdicts}), then the count of each verdict.
 */
final class Claims {
  private final Results results;
  private final Markdown md;
  private final boolean valid;
  private final Verdicts verdicts = new Verdicts();

  Claims(Results results, Markdown md) {
    this.results = results;
    this.md = md;
    this.valid = RunChecks.problems(results).isEmpty();
  }

  /** The counts of the verdicts written so far. */
  String tally() {
    return verdicts.tally();
  }

  void write() {
    md.heading("Claims and targets (issue 15)");
    md.paragraph(
        "Each target with the measured ratio and its 95% confidence interval from the per-fork"
            + " scores (`Stats`: Welch's t on the logarithms of the fork means). **PASS**: the"
            + " whole interval meets the target; **MISS**: the whole interval misses it; **NOT"
            + " RESOLVED**: the interval straddles the target, there are fewer than 2 forks, a"
            + " result is not steady, or the run is invalid.");
    md.tableHeader("| Claim | Target | Measured | Verdict |", "|---|---|---|---|");
    cachedVersusEsdk();
    versusRawGcm();
    manyTenants();
    probeLag();
    tailLatency();
    kmsLatency();
    s3();
    md.line();
    md.paragraph("**" + verdicts.tally() + ".**");
  }

  /** Ours at least 8× the ESDK caching CMM (both frame sizes) at 1 KiB, warm. */
  private void cachedVersusEsdk() {
    for (String op : OPS) {
      for (String peer : new String[] {"esdkCaching", "esdkCaching64k"}) {
        claim(
            "1 KiB cached " + lc(op) + " vs " + IMPL_NAMES.get(peer),
            envelope("ours", op, 1024, 0),
            envelope(peer, op, 1024, 0),
            8.0,
            true);
      }
    }
  }

  /** Ours at least 0.8× raw AES-GCM at 1 KiB, and 0.9× at 64 KiB and 1 MiB. */
  private void versusRawGcm() {
    for (String op : OPS) {
      claim(
          "1 KiB " + lc(op) + " vs raw AES-GCM",
          envelope("ours", op, 1024, 0),
          envelope("rawGcm", op, 1024, 0),
          0.8,
          true);
    }
    for (int size : new int[] {65536, 1048576}) {
      for (String op : OPS) {
        claim(
            size(size) + " " + lc(op) + " vs raw AES-GCM, after warm-up",
            envelope("ours", op, size, 0),
            envelope("rawGcm", op, size, 0),
            0.9,
            true);
      }
    }
  }

  private Row envelope(String impl, String op, int size, int latencyMs) {
    return results.envelope(impl + op, size, 1, latencyMs);
  }

  /** Ours at least 5× the ESDK caching CMM with many tenants, at either KMS latency. */
  private void manyTenants() {
    for (String ms : new String[] {"0", "5"}) {
      claim(
          "many tenants (10,000, Zipf s=1, capacity 2,000), KMS "
              + ms
              + " ms, vs the ESDK caching CMM",
          results.manyTenants("ours", ms),
          results.manyTenants("esdkCaching", ms),
          5.0,
          true);
    }
  }

  /**
   * The probe machinery keeps every active key within its interval: the largest probe lag any fork
   * sampled (10,000 keys, 5 s, 5 ms KMS) is at most the interval plus 100 ms (the probe's own round
   * trip and the scheduler's wake-up). A maximum has no interval: PASS or MISS on the worst fork.
   */
  private void probeLag() {
    Row probe = results.manyTenants("ours+probe");
    Double max = probe == null ? null : probe.aux().get("probeLagMaxMs");
    Double probed = probe == null ? null : probe.aux().get("keysProbed");
    String what =
        "probe lag, max over every key in use (of 10,000 CMKs: "
            + (probed == null ? "–" : fmt(probed))
            + " used in a fork; every 5 s, 5 ms KMS)";
    if (max == null) {
      verdicts.count(Verdicts.NOT_RUN);
      md.line("| " + what + " | ≤ 5,100 ms | – | NOT RUN |");
      return;
    }
    String verdict = verdicts.count(Verdicts.ofMaxAtMost(max, 5100, valid));
    md.line("| " + what + " | ≤ 5,100 ms | " + fmt(max) + " ms (worst fork) | " + verdict + " |");
  }

  /**
   * p99.9 ÷ p50 of warm 1 KiB operations across data-key expiry at most 2: the mean of the per-fork
   * ratios with its t interval. A missing result is shown as NOT RUN but not counted.
   */
  private void tailLatency() {
    for (String op : OPS) {
      Row r = results.find("TailLatencyBenchmark", "ours" + op, null, null);
      String what = "p99.9 ÷ p50 of warm 1 KiB " + lc(op) + " across data-key expiry, 5 ms KMS";
      if (r == null) {
        md.line("| " + what + " | ≤ 2× | – | NOT RUN |");
        continue;
      }
      Stats.Ratio m = Stats.mean(tailRatios(r), true);
      String verdict = verdicts.count(Verdicts.ofMeanAtMost(m, 2.0, valid));
      md.line(
          "| "
              + what
              + " (mean of per-fork ratios) | ≤ 2× | "
              + m.format()
              + " | "
              + verdict
              + " |");
    }
  }

  /** Each fork's p99.9 ÷ p50. */
  private static double[] tailRatios(Row r) {
    double[] p50 = Stats.forkPercentiles(r.raw(), 0.5);
    double[] p999 = Stats.forkPercentiles(r.raw(), 0.999);
    double[] q = new double[Math.min(p50.length, p999.length)];
    for (int i = 0; i < q.length; i++) {
      q[i] = p999[i] / p50[i];
    }
    return q;
  }

  /** Warm 1 KiB operations at 5 ms KMS latency at least 0.95× of those at 0 ms. */
  private void kmsLatency() {
    for (String op : OPS) {
      claim(
          "1 KiB " + lc(op) + ", warm: 5 ms KMS latency ÷ 0 ms",
          envelope("ours", op, 1024, 5),
          envelope("ours", op, 1024, 0),
          0.95,
          true);
    }
  }

  /** The S3 adapter at least 0.9× plain {@code S3Client}, and ahead of the S3 Encryption Client. */
  private void s3() {
    for (String size : S3_SIZES) {
      for (String op : S3_OPS) {
        String object = size(Integer.parseInt(size));
        Row ours = results.find("S3Benchmark", "panops" + op, "objectSize", size);
        claim(
            "S3 " + lc(op) + " of " + object + " vs plain `S3Client`",
            ours,
            results.find("S3Benchmark", "plain" + op, "objectSize", size),
            0.9,
            true);
        claim(
            "S3 " + lc(op) + " of " + object + " vs the S3 Encryption Client 4.x (ahead)",
            ours,
            results.find("S3Benchmark", "s3ec" + op, "objectSize", size),
            1.0,
            false);
      }
    }
  }

  /**
   * One claim row: {@code num ÷ den} against {@code threshold}; {@code atLeast}: the ratio must be
   * ≥ the threshold, else strictly above it.
   */
  private void claim(String what, Row num, Row den, double threshold, boolean atLeast) {
    String target = (atLeast ? "≥ " : "> ") + String.format(Locale.ROOT, "%.2f×", threshold);
    if (num == null || den == null) {
      verdicts.count(Verdicts.NOT_RUN);
      md.line("| " + what + " | " + target + " | – | NOT RUN |");
      return;
    }
    Stats.Ratio r = Row.ratioOf(num, den);
    boolean steady = num.spread() <= 0.10 && den.spread() <= 0.10;
    String verdict = verdicts.count(Verdicts.ofRatio(r, threshold, atLeast, valid, steady));
    String why = !valid ? " (invalid run)" : !steady ? " (not steady)" : "";
    md.line(
        "| "
            + what
            + " | "
            + target
            + " | "
            + r.format()
            + " ("
            + fmt(num.median())
            + " vs "
            + fmt(den.median())
            + " "
            + den.unit()
            + ") | "
            + verdict
            + why
            + " |");
  }
}
