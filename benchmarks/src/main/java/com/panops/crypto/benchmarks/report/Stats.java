package com.panops.crypto.benchmarks.report;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;

/**
 * The statistics of the report. Forks are the independent samples: JMH starts a new JVM per fork,
 * while the iterations of one fork share its JIT decisions and heap layout, so they are not
 * independent. A result's per-fork score is the mean of that fork's measured iterations.
 *
 * <p>A ratio A/B gets a 95% confidence interval from the per-fork scores of A and B: the difference
 * of the means of their logarithms with Welch's t interval (unequal variances, Welch–Satterthwaite
 * degrees of freedom), exponentiated. With 3 forks each the interval is wide (t ≈ 2.8–4.3): that is
 * the price of saying only what the data supports. A ratio whose interval contains 1.0 is "not
 * resolved"; a target is PASS only if the whole interval is on the right side of its threshold,
 * MISS only if the whole interval is on the wrong side, else NOT RESOLVED. Fewer than 2 forks on
 * either side: no interval, never resolved.
 */
final class Stats {
  private Stats() {}

  /** A ratio and its 95% interval ({@code NaN} bounds if there is none). */
  record Ratio(double value, double lo, double hi) {
    boolean hasInterval() {
      return !Double.isNaN(lo) && !Double.isNaN(hi);
    }

    /** Whether the interval excludes 1.0. */
    boolean resolved() {
      return hasInterval() && (lo > 1.0 || hi < 1.0);
    }

    String format() {
      if (Double.isNaN(value)) {
        return "–";
      }
      String v = String.format(Locale.ROOT, "%.2f×", value);
      if (!hasInterval()) {
        return v + " (no interval: < 2 forks; not resolved)";
      }
      String ci = String.format(Locale.ROOT, " [%.2f–%.2f]", lo, hi);
      return v + ci + (resolved() ? "" : " not resolved");
    }
  }

  /** Per-fork scores: the mean of each fork's measured iterations. */
  static double[] forkScores(JsonNode row) {
    List<Double> l = new ArrayList<>();
    for (JsonNode fork : row.path("primaryMetric").path("rawData")) {
      double sum = 0;
      int n = 0;
      for (JsonNode it : fork) {
        sum += it.asDouble();
        n++;
      }
      if (n > 0) {
        l.add(sum / n);
      }
    }
    return l.stream().mapToDouble(Double::doubleValue).toArray();
  }

  /** Largest (max − min) / median of the measured iterations within one fork. */
  static double worstForkSpread(JsonNode row) {
    double worst = 0;
    for (JsonNode fork : row.path("primaryMetric").path("rawData")) {
      List<Double> v = new ArrayList<>();
      fork.forEach(x -> v.add(x.asDouble()));
      if (v.size() < 2) {
        continue;
      }
      v.sort(null);
      double med = v.get(v.size() / 2);
      if (med > 0) {
        worst = Math.max(worst, (v.get(v.size() - 1) - v.get(0)) / med);
      }
    }
    return worst;
  }

  /** The ratio of the means of {@code a} and {@code b} (per-fork scores) with Welch's interval. */
  static Ratio ratio(double[] a, double[] b) {
    if (a.length == 0 || b.length == 0) {
      return new Ratio(Double.NaN, Double.NaN, Double.NaN);
    }
    double value = mean(a) / mean(b);
    if (a.length < 2 || b.length < 2) {
      return new Ratio(value, Double.NaN, Double.NaN);
    }
    double[] la = logs(a);
    double[] lb = logs(b);
    double va = variance(la) / la.length;
    double vb = variance(lb) / lb.length;
    double d = mean(la) - mean(lb);
    double se = Math.sqrt(va + vb);
    double df =
        (va + vb)
            * (va + vb)
            / (va * va / (la.length - 1) + vb * vb / (lb.length - 1) + Double.MIN_VALUE);
    double t = t975(df);
    return new Ratio(value, Math.exp(d - t * se), Math.exp(d + t * se));
  }

  /** A mean of per-fork values (e.g. per-fork percentile ratios) with its t interval. */
  static Ratio mean(double[] v, boolean interval) {
    if (v.length == 0) {
      return new Ratio(Double.NaN, Double.NaN, Double.NaN);
    }
    double m = mean(v);
    if (!interval || v.length < 2) {
      return new Ratio(m, Double.NaN, Double.NaN);
    }
    double se = Math.sqrt(variance(v) / v.length);
    double t = t975(v.length - 1);
    return new Ratio(m, m - t * se, m + t * se);
  }

  /**
   * Percentile {@code q} (0..1) of each fork of a sample-mode result, from JMH's histograms (all
   * measured iterations of the fork together).
   */
  static double[] forkPercentiles(JsonNode row, double q) {
    List<Double> out = new ArrayList<>();
    for (JsonNode fork : row.path("primaryMetric").path("rawDataHistogram")) {
      TreeMap<Double, Long> h = new TreeMap<>();
      for (JsonNode iteration : fork) {
        for (JsonNode pair : iteration) {
          h.merge(pair.get(0).asDouble(), pair.get(1).asLong(), Long::sum);
        }
      }
      long total = h.values().stream().mapToLong(Long::longValue).sum();
      if (total == 0) {
        continue;
      }
      long want = (long) Math.ceil(q * total);
      long seen = 0;
      for (var e : h.entrySet()) {
        seen += e.getValue();
        if (seen >= want) {
          out.add(e.getKey());
          break;
        }
      }
    }
    return out.stream().mapToDouble(Double::doubleValue).toArray();
  }

  /** Samples of a sample-mode result above {@code threshold} (in the result's unit). */
  static long samplesAbove(JsonNode row, double threshold) {
    long n = 0;
    for (JsonNode fork : row.path("primaryMetric").path("rawDataHistogram")) {
      for (JsonNode iteration : fork) {
        for (JsonNode pair : iteration) {
          if (pair.get(0).asDouble() > threshold) {
            n += pair.get(1).asLong();
          }
        }
      }
    }
    return n;
  }

  static double mean(double[] v) {
    double s = 0;
    for (double x : v) {
      s += x;
    }
    return s / v.length;
  }

  static double variance(double[] v) {
    double m = mean(v);
    double s = 0;
    for (double x : v) {
      s += (x - m) * (x - m);
    }
    return s / (v.length - 1);
  }

  private static double[] logs(double[] v) {
    double[] l = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      l[i] = Math.log(Math.max(v[i], Double.MIN_NORMAL));
    }
    return l;
  }

  private static final double[] T975 = {
    Double.NaN,
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042
  };

  /** The 97.5% quantile of Student's t with {@code df} degrees of freedom (floor of df). */
  static double t975(double df) {
    if (!(df >= 1)) {
      return T975[1];
    }
    int d = (int) Math.floor(df);
    return d < T975.length ? T975[d] : 1.96;
  }
}
