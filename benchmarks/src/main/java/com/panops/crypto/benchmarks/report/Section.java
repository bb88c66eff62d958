package com.panops.crypto.benchmarks.report;

import java.util.List;

/** A group of the report's sections: what they are written from, and where to. */
abstract class Section {
  final Results results;
  final Markdown md;

  Section(Results results, Markdown md) {
    this.results = results;
    this.md = md;
  }

  /** The results of benchmark class {@code cls}. */
  List<Row> resultsOf(String cls) {
    return results.select(r -> r.cls().equals(cls));
  }

  /** Whether the run has a result of benchmark class {@code cls}. */
  boolean has(String cls) {
    return !resultsOf(cls).isEmpty();
  }
}
