package com.panops.crypto.benchmarks.report;

/**
 * The verdict of a measurement against its target, and the count of each verdict over a report.
 * PASS only if the whole interval meets the target, MISS only if the whole interval misses it,
 * otherwise NOT RESOLVED (also without an interval, or when the run is invalid); NOT RUN when the
 * results it needs are missing.
 */
final class Verdicts {
  static final String PASS = "PASS";
  static final String MISS = "MISS";
  static final String NOT_RESOLVED = "NOT RESOLVED";
  static final String NOT_RUN = "NOT RUN";

  private int pass;
  private int miss;
  private int unresolved;
  private int notRun;

  /**
   * A ratio against a lower bound: {@code atLeast}, it must be ≥ the threshold, else strictly above
   * it. Resolves nothing on an invalid run or an unsteady result.
   */
  static String ofRatio(
      Stats.Ratio r, double threshold, boolean atLeast, boolean valid, boolean steady) {
    if (!valid || !steady || !r.hasInterval()) {
      return NOT_RESOLVED;
    } else if (atLeast ? r.lo() >= threshold : r.lo() > threshold) {
      return PASS;
    } else if (atLeast ? r.hi() < threshold : r.hi() <= threshold) {
      return MISS;
    }
    return NOT_RESOLVED;
  }

  /** A mean with its interval against an upper bound ({@code ≤ bound}). */
  static String ofMeanAtMost(Stats.Ratio m, double bound, boolean valid) {
    if (!valid || !m.hasInterval()) {
      return NOT_RESOLVED;
    } else if (m.hi() <= bound) {
      return PASS;
    } else if (m.lo() > bound) {
      return MISS;
    }
    return NOT_RESOLVED;
  }

  /** A maximum against an upper bound: a maximum has no interval, so PASS or MISS as measured. */
  static String ofMaxAtMost(double max, double bound, boolean valid) {
    return !valid ? NOT_RESOLVED : max <= bound ? PASS : MISS;
  }

  /** Counts {@code verdict} and returns it. */
  String count(String verdict) {
    switch (verdict) {
      case PASS -> pass++;
      case MISS -> miss++;
      case NOT_RUN -> notRun++;
      default -> unresolved++;
    }
    return verdict;
  }

  /** How many of each were counted, e.g. {@code 1 PASS, 3 MISS, 17 NOT RESOLVED, 4 NOT RUN}. */
  String tally() {
    return pass
        + " PASS, "
        + miss
        + " MISS, "
        + unresolved
        + " NOT RESOLVED, "
        + notRun
        + " NOT RUN";
  }
}
