package com.panops.crypto.benchmarks.report;

import static com.panops.crypto.benchmarks.report.Cells.IMPLS;
import static com.panops.crypto.benchmarks.report.Cells.OPS;
import static com.panops.crypto.benchmarks.report.Cells.SIZES;
import static com.panops.crypto.benchmarks.report.Cells.alloc;
import static com.panops.crypto.benchmarks.report.Cells.ci;
import static com.panops.crypto.benchmarks.report.Cells.fmt;
import static com.panops.crypto.benchmarks.report.Cells.implAndOp;
import static com.panops.crypto.benchmarks.report.Cells.kms;
import static com.panops.crypto.benchmarks.report.Cells.lc;
import static com.panops.crypto.benchmarks.report.Cells.noise;
import static com.panops.crypto.benchmarks.report.Cells.size;

/**
 * The sections of the envelope benchmarks: throughput per payload size, two threads and 5 ms KMS
 * latency against the one-thread 0 ms results, and the kill switch's probe.
 */
final class EnvelopeSections extends Section {
  EnvelopeSections(Results results, Markdown md) {
    super(results, md);
  }

  void throughput() {
    md.heading("Throughput, one thread, KMS latency 0 ms (warm caches)");
    md.paragraph(
        "ops/s and MB/s are medians; *vs ours* is panops-crypto `byte[]` ÷ this row (above 1: ours"
            + " is faster). B/op is allocation per operation (`-prof gc`), KMS/op the fake KMS's"
            + " calls per operation during warm-up and measurement.");
    for (int size : SIZES) {
      if (results.envelopes(size, 1, 0).isEmpty()) {
        continue;
      }
      md.line("### " + size(size));
      md.line();
      md.tableHeader(
          "| Implementation | Op | ops/s | MB/s | noise | B/op | KMS/op | vs ours |",
          "|---|---|---:|---:|---|---:|---:|---:|");
      for (String impl : IMPLS) {
        for (String op : OPS) {
          throughputRow(impl, op, size);
        }
      }
      md.line();
    }
  }

  private void throughputRow(String impl, String op, int size) {
    Row r = results.envelope(impl + op, size, 1, 0);
    if (r == null) {
      return;
    }
    Row ours = results.envelope("ours" + op, size, 1, 0);
    md.line(
        "| "
            + implAndOp(impl, op)
            + " | "
            + fmt(r.median())
            + " | "
            + fmt(r.median() * size / 1e6)
            + " | "
            + noise(r)
            + " | "
            + alloc(r)
            + " | "
            + kms(r)
            + " | "
            + (ours == null ? "–" : ci(ours, r))
            + " |");
  }

  void threads() {
    if (results.select(r -> r.cls().equals("EnvelopeBenchmark") && r.threads() == 2).isEmpty()) {
      return;
    }
    md.heading("Two threads versus one (KMS latency 0 ms)");
    md.tableHeader(
        "| Implementation | Op | Payload | 1 thread ops/s | 2 threads ops/s | 2 threads ÷ 1 | noise (2 threads) |",
        "|---|---|---|---:|---:|---:|---|");
    versusOneThreadAt0ms(2, 0, false);
    md.line();
  }

  void latency() {
    if (results
        .select(r -> r.cls().equals("EnvelopeBenchmark") && r.intParam("kmsLatencyMs") == 5)
        .isEmpty()) {
      return;
    }
    md.heading("KMS latency 5 ms versus 0 ms (one thread)");
    md.paragraph(
        "A warm cache makes KMS latency invisible; an implementation that calls KMS per message"
            + " pays it on every message.");
    md.tableHeader(
        "| Implementation | Op | Payload | 0 ms ops/s | 5 ms ops/s | 5 ms ÷ 0 ms | KMS/op (5 ms) | noise (5 ms) |",
        "|---|---|---|---:|---:|---:|---:|---|");
    versusOneThreadAt0ms(1, 5, true);
    md.line();
  }

  /**
   * A row for every envelope result at {@code threads} and {@code latencyMs}: the same result at
   * one thread and 0 ms, this one, their ratio, optionally its KMS calls, and its noise.
   */
  private void versusOneThreadAt0ms(int threads, int latencyMs, boolean kmsColumn) {
    for (String impl : IMPLS) {
      for (String op : OPS) {
        for (int size : SIZES) {
          Row r = results.envelope(impl + op, size, threads, latencyMs);
          if (r == null) {
            continue;
          }
          Row base = results.envelope(impl + op, size, 1, 0);
          md.line(
              "| "
                  + implAndOp(impl, op)
                  + " | "
                  + size(size)
                  + " | "
                  + (base == null ? "–" : fmt(base.median()))
                  + " | "
                  + fmt(r.median())
                  + " | "
                  + (base == null ? "–" : ci(r, base))
                  + " | "
                  + (kmsColumn ? kms(r) + " | " : "")
                  + noise(r)
                  + " |");
        }
      }
    }
  }

  void killSwitch() {
    if (!has("KillSwitchBenchmark")) {
      return;
    }
    md.heading("Kill switch: liveness probe every 1 s versus off (1 KiB, one thread)");
    md.tableHeader(
        "| Op | probe off ops/s | probe 1 s ops/s | on ÷ off | KMS/op (probe on) | noise (on) |",
        "|---|---:|---:|---:|---:|---|");
    for (String op : OPS) {
      Row off = results.find("KillSwitchBenchmark", "ours" + op, "probe", "off");
      Row on = results.find("KillSwitchBenchmark", "ours" + op, "probe", "1s");
      if (off == null || on == null) {
        continue;
      }
      md.line(
          "| "
              + lc(op)
              + " | "
              + fmt(off.median())
              + " | "
              + fmt(on.median())
              + " | "
              + ci(on, off)
              + " | "
              + kms(on)
              + " | "
              + noise(on)
              + " |");
    }
    md.line();
  }
}
