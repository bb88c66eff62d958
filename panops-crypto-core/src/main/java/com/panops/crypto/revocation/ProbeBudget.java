package com.panops.crypto.revocation;

/**
 * The KMS request budget of scheduled probes: a token bucket refilled at {@code perSecond}, holding
 * at most a tenth of a second's worth (at least 2 tokens, so a probe that also creates its canary
 * can run). Scheduled probes take tokens or wait; probes on a request thread are charged without
 * waiting (the bucket may go into debt, at most one second's worth), so the background yields to
 * them. Times are the engine's ticker (nanoseconds). Thread-safe.
 */
final class ProbeBudget {
  private final double perNano;
  private final double capacity;
  private final double maxDebt;
  private double tokens;
  private long last;

  ProbeBudget(double perSecond, long now) {
    this.perNano = perSecond / 1e9;
    this.capacity = Math.max(2, perSecond / 10);
    this.maxDebt = Math.max(capacity, perSecond);
    this.tokens = capacity;
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

  /** Charges {@code n} tokens whatever the bucket holds (a request-thread probe). */
  synchronized void charge(int n, long now) {
    refill(now);
    tokens = Math.max(-maxDebt, tokens - n);
  }

  private void refill(long now) {
    long dt = now - last;
    if (dt > 0) {
      tokens = Math.min(capacity, tokens + dt * perNano);
      last = now;
    }
  }

  /** The most tokens the bucket holds. */
  double capacity() {
    return capacity;
  }
}
