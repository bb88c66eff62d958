package com.panops.crypto.benchmarks.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * One JMH result (one benchmark method with one set of parameters and thread count), with the aux
 * values recorded for it over its forks and the raw JMH JSON it was read from.
 */
record Row(
    String dataset,
    String cls,
    String method,
    String mode,
    int threads,
    Map<String, String> params,
    double score,
    double error,
    String unit,
    double median,
    double min,
    double max,
    int iterations,
    int warmupIterations,
    Double allocPerOp,
    Map<String, Double> aux,
    JsonNode raw) {

  String param(String k) {
    return params.get(k);
  }

  int intParam(String k) {
    String v = params.get(k);
    return v == null ? -1 : Integer.parseInt(v);
  }

  /** Relative half-width of the 99.9% interval, or NaN. */
  double relError() {
    return Double.isNaN(error) || score == 0 ? Double.NaN : error / score;
  }

  double[] forks() {
    return Stats.forkScores(raw);
  }

  /** Largest spread of the measured iterations within one fork (warm-up check). */
  double spread() {
    return Stats.worstForkSpread(raw);
  }

  Double kmsPerOp() {
    Double calls = aux.get("kmsCalls");
    Double ops = aux.get("ops");
    return calls == null || ops == null || ops == 0 ? null : calls / ops;
  }

  /** A ratio of two results with its interval (see {@link Stats}); NaN if either is missing. */
  static Stats.Ratio ratioOf(Row num, Row den) {
    if (num == null || den == null) {
      return new Stats.Ratio(Double.NaN, Double.NaN, Double.NaN);
    }
    return Stats.ratio(num.forks(), den.forks());
  }
}
