package com.panops.crypto.revocation;

/**
 * The KMS request budget of scheduled probes: a token bucket refilled at {@code perSecond}, holding
 * at most a tenth of a second's worth (at least 2 tokens, so a probe that also creates its canary
 * can run). Scheduled probes take tokens or wait; probes on a request thread are charged without
 * waiting (the bucket may go into debt, at most one second's worth), so the background yields to
 * them, but only up to half the budget: charges draw on an allowance refilled at {@code perSecond /
 * 2} (holding the debt cap plus the bucket), and a charge beyond the allowance is not counted. So
 * however many request-thread probes run, scheduled probes keep at least half the budget on average
 * and a due probe always starts eventually (no key starves, in particular not a latched key, whose
 * latch only a probe can lift). The scheduler takes tokens every scan period (at most 100 ms), so
 * the bucket (a tenth of a second's worth) loses no refill between scans, and charges timed just
 * before each scan cannot take the scheduled half either. Times are the engine's ticker
 * (nanoseconds). Thread-safe.
 */
final class ProbeBudget {
  /** The share of the budget that request-thread charges may take at most, on average. */
  static final double CHARGED_SHARE = 0.5;

  private final double perNano;
  private final double capacity;
  private final double maxDebt;
  private final double allowancePerNano;
  private final double allowanceCapacity;
  private double tokens;
  private double allowance;
  private long last;

  ProbeBudget(double perSecond, long now) {
    this.perNano = perSecond / 1e9;
    this.capacity = Math.max(2, perSecond / 10);
    this.maxDebt = Math.max(capacity, perSecond);
    this.allowancePerNano = perNano * CHARGED_SHARE;
    this.allowanceCapacity = maxDebt + capacity;
    this.tokens = capacity;
    this.allowance = allowanceCapacity;
    this.last = now;
  }

  /** Takes {@code n} tokens if the bucket holds them. */
  synchronized boolean tryTake(int n, long now) {
    refill(now);
    if (tokens >= n) {
      tokens -= n;
      return true;
    }
    return false;
  }

  /**
   * Charges {@code n} tokens whatever the bucket holds (a request-thread probe), as far as the
   * allowance of charges goes.
   */
  synchronized void charge(int n, long now) {
    refill(now);
    double counted = Math.max(0, Math.min(Math.min(n, allowance), tokens + maxDebt));
    allowance -= counted;
    tokens -= counted;
  }

  private void refill(long now) {
    long dt = now - last;
    if (dt > 0) {
      tokens = Math.min(capacity, tokens + dt * perNano);
      allowance = Math.min(allowanceCapacity, allowance + dt * allowancePerNano);
      last = now;
    }
  }

  /** The most tokens the bucket holds. */
  double capacity() {
    return capacity;
  }

  /** The most debt request-thread charges can put the bucket in. */
  double maxDebt() {
    return maxDebt;
  }
}
