package com.panops.crypto.verify;

import java.util.Map;
import java.util.TreeMap;

/**
 * Quantiles of positive durations in bounded memory: values are counted in buckets 2 % wide on a
 * log scale (so a quantile is within 2 % of the true value), plus the exact maximum. Used for the
 * probe intervals, of which a day of a busy account has millions.
 */
final class LogHistogram {
  private static final double BASE = Math.log(1.02);
  private static final double MIN_SECONDS = 0.001;

  private final TreeMap<Integer, Long> counts = new TreeMap<>();
  private long n;
  private double max;

  void add(double seconds) {
    double v = Math.max(seconds, MIN_SECONDS);
    counts.merge((int) Math.floor(Math.log(v / MIN_SECONDS) / BASE), 1L, Long::sum);
    n++;
    max = Math.max(max, seconds);
  }

  long count() {
    return n;
  }

  double max() {
    return max;
  }

  /** The q-quantile (0 < q ≤ 1), as the upper edge of its bucket, capped at the maximum. */
  double quantile(double q) {
    long rank = (long) Math.ceil(q * n);
    long seen = 0;
    for (Map.Entry<Integer, Long> e : counts.entrySet()) {
      seen += e.getValue();
      if (seen >= rank) {
        return Math.min(max, MIN_SECONDS * Math.exp((e.getKey() + 1) * BASE));
      }
    }
    return max;
  }
}
