package com.panops.crypto.benchmarks.report;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Whether a run can carry claims: one run id for every set (no splicing), no set measured on a busy
 * machine, and one aux record per fork (none added by a re-run).
 */
final class RunChecks {
  private RunChecks() {}

  /** Why this run's figures cannot carry claims; empty if none. */
  static List<String> problems(Results results) {
    List<String> p = new ArrayList<>();
    String run = results.machine.getProperty("run.id");
    if (run == null) {
      p.add("no run id in machine.properties (not written by run-all.sh)");
    }
    TreeSet<String> datasets = new TreeSet<>();
    for (Row r : results.rows) {
      datasets.add(r.dataset());
    }
    for (String d : datasets) {
      String dr = results.machine.getProperty("dataset." + d);
      if (run != null && !run.equals(dr)) {
        p.add("`" + d + "` is not from this run (run " + dr + ", report " + run + "): spliced");
      }
      String invalid = results.machine.getProperty("invalid." + d);
      if (invalid != null) {
        p.add("`" + d + "` was measured on a busy machine: " + invalid);
      }
      long expected = forks(results, d);
      Integer aux = results.auxLines.get(d);
      if (aux != null && aux != expected) {
        p.add(
            "`"
                + d
                + "`: "
                + aux
                + " aux records for "
                + expected
                + " forks (rows added or re-run after the fact)");
      }
    }
    return p;
  }

  /** The forks of every result of set {@code dataset}. */
  private static long forks(Results results, String dataset) {
    long n = 0;
    for (Row r : results.rows) {
      if (r.dataset().equals(dataset)) {
        n += r.raw().path("forks").asInt(1);
      }
    }
    return n;
  }

  /** Results (not single-shot) whose iterations within a fork spread more than 10%. */
  static List<Row> unsteady(Results results) {
    return results.select(r -> !r.mode().equals("ss") && r.spread() > 0.10);
  }
}
