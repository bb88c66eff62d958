package com.panops.crypto.benchmarks.report;

import static com.panops.crypto.benchmarks.report.Cells.IMPLS;
import static com.panops.crypto.benchmarks.report.Cells.IMPL_NAMES;
import static com.panops.crypto.benchmarks.report.Cells.OPS;
import static com.panops.crypto.benchmarks.report.Cells.ci;
import static com.panops.crypto.benchmarks.report.Cells.fmt;
import static com.panops.crypto.benchmarks.report.Cells.implAndOp;
import static com.panops.crypto.benchmarks.report.Cells.kms;
import static com.panops.crypto.benchmarks.report.Cells.noise;
import static com.panops.crypto.benchmarks.report.ResultsReader.num;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Locale;

/**
 * The sections about the data-key cache: many tenants against a cache below the key count, tail
 * latency across expiry, keys rolling by message limit, and cold starts (cache misses).
 */
final class CacheSections extends Section {
  CacheSections(Results results, Markdown md) {
    super(results, md);
  }

  void manyTenants() {
    List<Row> mt = resultsOf("ManyTenantsBenchmark");
    if (mt.isEmpty()) {
      return;
    }
    md.heading("Many tenants: Zipf over 10,000 CMKs, cache below the key count");
    md.paragraph(
        "Half encryptions, half decryptions of 1 KiB; hit ratio = 1 − data-key KMS calls per"
            + " operation (KMS calls and operations summed over the forks); retained heap per"
            + " cached key = live heap with the cache full (after the run, every tenant encrypts"
            + " and decrypts once) minus live heap with the same instance built again empty (full"
            + " GCs), ÷ capacity; the largest of the forks. *vs ESDK* is this row ÷ the ESDK"
            + " caching CMM.");
    md.tableHeader(
        "| Implementation | tenants | capacity | KMS latency | ops/s | vs ESDK | hit ratio | KMS"
            + " calls/s | retained B per cached key | noise |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---|");
    for (Row r : mt) {
      manyTenantsRow(r);
    }
    md.line();
    probeLag();
  }

  private void manyTenantsRow(Row r) {
    Row esdk = results.manyTenants("esdkCaching", r.param("kmsLatencyMs"));
    Double calls = r.aux().get("dataKeyCalls");
    Double ops = r.aux().get("ops");
    Double nanos = r.aux().get("measuredNanos");
    String hit =
        calls == null || ops == null || ops == 0
            ? "–"
            : String.format(Locale.ROOT, "%.3f", 1 - calls / ops);
    String perSec = calls == null || nanos == null || nanos == 0 ? "–" : fmt(calls / (nanos / 1e9));
    Double heap = r.aux().get("retainedBytesPerCachedKey");
    md.line(
        "| "
            + r.param("impl")
            + " | "
            + r.param("tenants")
            + " | "
            + r.param("capacity")
            + " | "
            + r.param("kmsLatencyMs")
            + " ms | "
            + fmt(r.median())
            + " | "
            + (r == esdk ? "" : ci(r, esdk))
            + " | "
            + hit
            + " | "
            + perSec
            + " | "
            + (heap == null ? "–" : fmt(heap))
            + " | "
            + noise(r)
            + " |");
  }

  /** What the probing many-tenants result sampled of the probes, if it ran. */
  private void probeLag() {
    Row probe = results.manyTenants("ours+probe");
    if (probe == null || probe.aux().get("probeLagP50Ms") == null) {
      return;
    }
    md.paragraph(
        String.format(
            Locale.ROOT,
            "With probing (every 5 s, 5 ms KMS latency): probe lag (time since each key's last"
                + " successful probe, sampled every 100 ms) p50 %s ms, p99 %s ms, max %s ms over"
                + " %s keys probed; probes run on request threads: %s; requests whose key's last"
                + " probe was older than two intervals (an upper bound of the requests that"
                + " waited for a probe): %s of %s.",
            fmt(probe.aux().get("probeLagP50Ms")),
            fmt(probe.aux().get("probeLagP99Ms")),
            fmt(probe.aux().get("probeLagMaxMs")),
            fmt(probe.aux().getOrDefault("keysProbed", Double.NaN)),
            fmt(probe.aux().getOrDefault("probesOnRequestThreads", Double.NaN)),
            fmt(probe.aux().getOrDefault("requestsOnStaleKeys", Double.NaN)),
            fmt(probe.aux().getOrDefault("ops", Double.NaN))));
  }

  void tailLatency() {
    List<Row> tl = resultsOf("TailLatencyBenchmark");
    if (tl.isEmpty()) {
      return;
    }
    md.heading("Tail latency across data-key expiry (sample mode, 1 KiB, one thread)");
    md.paragraph(
        "Data keys expire every `maxAgeMs`; KMS answers after `kmsLatencyMs`. Percentiles pool"
            + " every fork's samples; *> 1 ms* counts samples slower than 1 ms (a request that"
            + " waited for KMS); GenerateDataKey per second against 1 / age shows what refreshing"
            + " ahead costs in KMS calls.");
    md.tableHeader(
        "| Implementation | Op | age | KMS | p50 µs | p99 µs | p99.9 µs | max µs | > 1 ms |"
            + " GenerateDataKey/s | Decrypt/s | 1 / age |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Row r : tl) {
      tailLatencyRow(r);
    }
    md.line();
  }

  private void tailLatencyRow(Row r) {
    JsonNode pct = r.raw().path("primaryMetric").path("scorePercentiles");
    double scale = r.unit().startsWith("ms") ? 1000 : r.unit().startsWith("ns") ? 0.001 : 1;
    Double nanos = r.aux().get("measuredNanos");
    double secs = nanos == null ? Double.NaN : nanos / 1e9;
    md.line(
        "| "
            + IMPL_NAMES.getOrDefault(
                r.method().replace("Encrypt", "").replace("Decrypt", ""), r.method())
            + " | "
            + (r.method().endsWith("Encrypt") ? "encrypt" : "decrypt")
            + " | "
            + r.param("maxAgeMs")
            + " ms | "
            + r.param("kmsLatencyMs")
            + " ms | "
            + fmt(num(pct.path("50.0")) * scale)
            + " | "
            + fmt(num(pct.path("99.0")) * scale)
            + " | "
            + fmt(num(pct.path("99.9")) * scale)
            + " | "
            + fmt(num(pct.path("100.0")) * scale)
            + " | "
            + Stats.samplesAbove(r.raw(), 1000 / scale)
            + " | "
            + fmt(r.aux().getOrDefault("kmsGenerateDataKey", Double.NaN) / secs)
            + " | "
            + fmt(r.aux().getOrDefault("kmsDecrypt", Double.NaN) / secs)
            + " | "
            + fmt(1000.0 / Double.parseDouble(r.param("maxAgeMs")))
            + " |");
  }

  void roll() {
    List<Row> rl = resultsOf("RollBenchmark");
    if (rl.isEmpty()) {
      return;
    }
    md.heading("Miss path: keys rolling by message limit, threads contending (1 KiB encrypt)");
    md.paragraph(
        "Single flight holds if messages per GenerateDataKey ≈ the message limit (a key is"
            + " loaded once, by one thread, however many threads find it spent).");
    md.tableHeader(
        "| Implementation | threads | limit | KMS | ops/s | GenerateDataKeys | messages per"
            + " GenerateDataKey | noise |",
        "|---|---:|---:|---:|---:|---:|---:|---|");
    for (Row r : rl) {
      Double g = r.aux().get("kmsGenerateDataKey");
      Double ops = r.aux().get("ops");
      md.line(
          "| "
              + IMPL_NAMES.getOrDefault(r.method().replace("Encrypt", ""), r.method())
              + " | "
              + r.threads()
              + " | "
              + r.param("maxMessages")
              + " | "
              + r.param("kmsLatencyMs")
              + " ms | "
              + fmt(r.median())
              + " | "
              + (g == null ? "–" : fmt(g))
              + " | "
              + (g == null || ops == null || g == 0 ? "–" : fmt(ops / g))
              + " | "
              + noise(r)
              + " |");
    }
    md.line();
  }

  void coldStart() {
    List<Row> cs = resultsOf("ColdStartBenchmark");
    if (cs.isEmpty()) {
      return;
    }
    md.heading("Cold start: first encryption and first decryption (cache miss), 1 KiB");
    md.paragraph(
        "Each measured call is the first on a newly built instance (building it is not timed);"
            + " a decryption's ciphertext comes from another instance. *Cold JVM*: one call per"
            + " fresh JVM (class loading and interpreter included). *Warm JVM*: many fresh"
            + " instances in one warmed JVM, i.e. the cost of a data-key cache miss.");
    md.tableHeader(
        "| Implementation | Op | JVM | KMS latency | median ms | min–max ms | samples | KMS calls/op |",
        "|---|---|---|---:|---:|---|---:|---:|");
    for (String impl : IMPLS) {
      for (String op : OPS) {
        for (Row r : cs) {
          if (r.method().equals(impl + op)) {
            coldStartRow(impl, op, r);
          }
        }
      }
    }
    md.line();
  }

  private void coldStartRow(String impl, String op, Row r) {
    boolean coldJvm = r.warmupIterations() == 0;
    double scale = msScale(r.unit());
    md.line(
        "| "
            + implAndOp(impl, op)
            + " | "
            + (coldJvm ? "cold" : "warm")
            + " | "
            + r.param("kmsLatencyMs")
            + " ms | "
            + fmt(r.median() * scale)
            + " | "
            + fmt(r.min() * scale)
            + "–"
            + fmt(r.max() * scale)
            + " | "
            + samples(r)
            + " | "
            + kms(r)
            + " |");
  }

  /** Every measured call of a single-shot result: forks × iterations. */
  private static int samples(Row r) {
    return r.raw().path("forks").asInt(1) * r.iterations();
  }

  private static double msScale(String unit) {
    switch (unit) {
      case "us/op":
        return 1e-3;
      case "ns/op":
        return 1e-6;
      case "s/op":
        return 1e3;
      default:
        return 1;
    }
  }
}
