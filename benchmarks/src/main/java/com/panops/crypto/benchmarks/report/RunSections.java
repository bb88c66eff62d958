package com.panops.crypto.benchmarks.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;

/** The sections about the run itself: the machine, the run's validity, and how noisy it was. */
final class RunSections extends Section {
  RunSections(Results results, Markdown md) {
    super(results, md);
  }

  void machine() {
    md.heading("Machine and run");
    md.tableHeader("| | |", "|---|---|");
    md.kv("Date", results.machine("date", "unknown"));
    md.kv("CPU", results.machine("cpu", "unknown"));
    md.kv("Cores (`nproc`)", results.machine("nproc", "unknown"));
    md.kv("Memory", results.machine("memory", "unknown"));
    md.kv("OS", results.machine("os", "unknown"));
    if (!results.rows.isEmpty()) {
      JsonNode r = results.rows.get(0).raw();
      md.kv(
          "JDK",
          r.path("jdkVersion").asText()
              + ", "
              + r.path("vmName").asText()
              + " "
              + r.path("vmVersion").asText());
      md.kv("JVM options of the forks", "`" + String.join(" ", jvmArgs(r)) + "`");
    }
    md.kv("Load average before / after", loadBeforeAfter());
    md.kv("Wall time of the run", results.machine("duration", "?"));
    TreeSet<String> sets = new TreeSet<>();
    for (Row r : results.rows) {
      sets.add(runOf(r));
    }
    md.kv("Runs", String.join("<br>", sets));
    md.line();
  }

  private String loadBeforeAfter() {
    return results.machine("load.before", "?") + " / " + results.machine("load.after", "?");
  }

  /** How a result's set was run: forks, warm-up, measurement, threads. */
  private static String runOf(Row r) {
    JsonNode x = r.raw();
    return "`"
        + r.dataset()
        + "`: "
        + x.path("forks").asInt()
        + " fork(s), "
        + (x.path("warmupIterations").asInt() == 0
            ? "no"
            : x.path("warmupIterations").asInt() + " × " + x.path("warmupTime").asText())
        + " warm-up, "
        + x.path("measurementIterations").asInt()
        + " × "
        + x.path("measurementTime").asText()
        + " measured, "
        + r.threads()
        + " thread(s)";
  }

  /** The forks' JVM options, without the ones that only name this run's files. */
  private static List<String> jvmArgs(JsonNode r) {
    List<String> l = new ArrayList<>();
    for (JsonNode a : r.path("jvmArgs")) {
      String s = a.asText();
      if (!s.startsWith("-Dpanops.bench.aux") && !s.startsWith("-Dpanops.s3mock")) {
        l.add(s);
      }
    }
    return l;
  }

  void validity() {
    List<String> p = RunChecks.problems(results);
    md.heading("Validity of this run");
    md.paragraph(
        "Load average threshold: 1-minute load ≤ "
            + results.machine("load.threshold", "?")
            + " before each benchmark (run-all.sh waits for it, then refuses or marks the set"
            + " invalid). Steady: every fork's measured iterations within 10% of their median.");
    if (p.isEmpty()) {
      md.line(
          "Every set is from run `"
              + results.machine.getProperty("run.id")
              + "`, below the load threshold, with one aux record per fork.");
    } else {
      md.paragraph("**This run cannot carry claims:**");
      for (String x : p) {
        md.line("- " + x);
      }
    }
    md.line();
    unsteady();
  }

  private void unsteady() {
    List<Row> unsteady = RunChecks.unsteady(results);
    md.paragraph(
        String.format(
            Locale.ROOT,
            "Results whose iterations within a fork spread more than 10%% (not warm or noisy): %d"
                + " of %d.",
            unsteady.size(),
            results.select(r -> !r.mode().equals("ss")).size()));
    if (unsteady.isEmpty()) {
      return;
    }
    for (Row r : unsteady) {
      md.line(
          String.format(
              Locale.ROOT,
              "- `%s` %s.%s %s, %d thread(s): %.0f%%",
              r.dataset(),
              r.cls(),
              r.method(),
              r.params(),
              r.threads(),
              r.spread() * 100));
    }
    md.line();
  }

  void noise() {
    md.heading("How noisy the run was");
    List<Double> errs = new ArrayList<>();
    Row worst = null;
    for (Row r : results.rows) {
      double e = r.relError();
      if (!Double.isNaN(e) && !r.mode().equals("ss")) {
        errs.add(e);
        if (worst == null || e > worst.relError()) {
          worst = r;
        }
      }
    }
    if (errs.isEmpty()) {
      md.paragraph("No result has an error estimate (fewer than 2 iterations).");
      return;
    }
    errs.sort(null);
    double med = errs.get(errs.size() / 2);
    long over5 = errs.stream().filter(e -> e > 0.05).count();
    md.paragraph(
        String.format(
            Locale.ROOT,
            "Throughput results: %d; median score error ±%.1f%%; %d above ±5%%; the worst ±%.1f%%"
                + " (%s.%s %s, %d thread(s)). Load average before / after the run: %s.",
            errs.size(),
            med * 100,
            over5,
            worst.relError() * 100,
            worst.cls(),
            worst.method(),
            worst.params(),
            worst.threads(),
            loadBeforeAfter()));
  }
}
