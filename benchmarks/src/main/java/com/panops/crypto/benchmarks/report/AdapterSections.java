package com.panops.crypto.benchmarks.report;

import static com.panops.crypto.benchmarks.report.Cells.S3_OPS;
import static com.panops.crypto.benchmarks.report.Cells.S3_SIZES;
import static com.panops.crypto.benchmarks.report.Cells.alloc;
import static com.panops.crypto.benchmarks.report.Cells.ci;
import static com.panops.crypto.benchmarks.report.Cells.fmt;
import static com.panops.crypto.benchmarks.report.Cells.kms;
import static com.panops.crypto.benchmarks.report.Cells.lc;
import static com.panops.crypto.benchmarks.report.Cells.mib;
import static com.panops.crypto.benchmarks.report.Cells.noise;
import static com.panops.crypto.benchmarks.report.Cells.size;

/** The sections of the adapters: S3 against plain {@code S3Client}, JDBC against plaintext. */
final class AdapterSections extends Section {
  AdapterSections(Results results, Markdown md) {
    super(results, md);
  }

  void s3() {
    if (!has("S3Benchmark")) {
      return;
    }
    md.heading("S3 adapter versus plain `S3Client` (local S3Mock, one thread)");
    md.paragraph(
        "Peak heap is above the baseline after set-up: *sampled* is heap used sampled every 5 ms"
            + " (garbage included), *after GC* the largest heap still in use right after a"
            + " collection (close to what the client holds on to).");
    md.tableHeader(
        "| Object | Op | Client | MB/s | ÷ plain (95% CI) | noise (MB/s) | B/op | peak heap sampled | peak heap after GC | KMS/op |",
        "|---|---|---|---:|---:|---|---:|---:|---:|---:|");
    for (String size : S3_SIZES) {
      for (String op : S3_OPS) {
        Row p = results.find("S3Benchmark", "plain" + op, "objectSize", size);
        Row o = results.find("S3Benchmark", "panops" + op, "objectSize", size);
        Row e = results.find("S3Benchmark", "s3ec" + op, "objectSize", size);
        for (Row r : new Row[] {p, o, e}) {
          if (r != null) {
            s3Row(
                size, op, r, p, r == p ? "plain" : r == o ? "panops" : "S3 Encryption Client 4.x");
          }
        }
      }
    }
    md.line();
  }

  /** One client's row; {@code plain} is the plain {@code S3Client}'s result, or null. */
  private void s3Row(String size, String op, Row r, Row plain, String client) {
    double bytes = Double.parseDouble(size);
    md.line(
        "| "
            + size(Integer.parseInt(size))
            + " | "
            + lc(op)
            + " | "
            + client
            + " | "
            + fmt(r.median() * bytes / 1e6)
            + " | "
            + (r != plain && plain != null ? ci(r, plain) : "")
            + " | "
            + noise(r, bytes / 1e6)
            + " | "
            + alloc(r)
            + " | "
            + mib(r.aux().get("heapPeakUsedBytes"))
            + " | "
            + mib(r.aux().get("heapPeakAfterGcBytes"))
            + " | "
            + kms(r)
            + " |");
  }

  void jdbc() {
    if (!has("JdbcBenchmark")) {
      return;
    }
    md.heading("JDBC adapter versus plaintext JDBC (embedded PostgreSQL 16, TLS, one thread)");
    md.paragraph(
        "One operation is 1,000 rows: a batch insert in one transaction, or a select of all rows"
            + " reading both columns (decrypting them in the encrypted case).");
    md.tableHeader(
        "| Op | plaintext rows/s | encrypted rows/s | encrypted ÷ plaintext | noise (encrypted, rows/s) | KMS/op |",
        "|---|---:|---:|---:|---|---:|");
    for (String op : new String[] {"Insert", "Select"}) {
      Row p = results.find("JdbcBenchmark", "plain" + op, null, null);
      Row o = results.find("JdbcBenchmark", "encrypted" + op, null, null);
      if (p == null || o == null) {
        continue;
      }
      md.line(
          "| "
              + lc(op)
              + " | "
              + fmt(p.median() * 1000)
              + " | "
              + fmt(o.median() * 1000)
              + " | "
              + ci(o, p)
              + " | "
              + noise(o, 1000)
              + " | "
              + kms(o)
              + " |");
    }
    md.line();
  }
}
