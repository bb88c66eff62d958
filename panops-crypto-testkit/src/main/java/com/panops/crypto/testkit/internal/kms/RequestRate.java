package com.panops.crypto.testkit.internal.kms;

import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * KMS's request quota for cryptographic operations: a token bucket per calling account, on the
 * engine's clock. Each bucket holds at most {@code burst} tokens, refills at {@code perSecond}
 * tokens per second of clock time, and starts full; a request takes one token or is throttled
 * (throttled requests take none). Thread-safe.
 */
final class RequestRate {
  private final double perSecond;
  private final double burst;
  private final Map<String, Bucket> buckets = new HashMap<>();

  private static final class Bucket {
    double tokens;
    long lastNanos;

    Bucket(double tokens, long lastNanos) {
      this.tokens = tokens;
      this.lastNanos = lastNanos;
    }
  }

  RequestRate(double perSecond, int burst) {
    if (!(perSecond > 0) || Double.isInfinite(perSecond)) {
      throw new IllegalArgumentException("request rate must be positive and finite: " + perSecond);
    }
    if (burst < 1) {
      throw new IllegalArgumentException("burst must be at least 1: " + burst);
    }
    this.perSecond = perSecond;
    this.burst = burst;
  }

  /** Takes one token from the account's bucket; false if it is empty (throttle the request). */
  synchronized boolean tryAcquire(String account, Clock clock) {
    Instant now = clock.instant();
    long nowNanos = now.getEpochSecond() * 1_000_000_000L + now.getNano();
    Bucket b = buckets.computeIfAbsent(account, a -> new Bucket(burst, nowNanos));
    long elapsed = Math.max(0, nowNanos - b.lastNanos); // a clock moved back refills nothing
    b.tokens = Math.min(burst, b.tokens + elapsed * perSecond / 1e9);
    b.lastNanos = Math.max(b.lastNanos, nowNanos);
    if (b.tokens >= 1 - 1e-9) {
      b.tokens = Math.max(0, b.tokens - 1);
      return true;
    }
    return false;
  }
}
