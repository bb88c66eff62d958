package com.panops.crypto;

import java.time.Duration;
import java.util.Objects;

/**
 * The liveness probe that keeps the kill switch working while the cache is warm. Every {@code
 * interval}, for every CMK used within {@code idleTimeout}, the library decrypts a small canary
 * under the key through KMS: one {@code Decrypt} per key per interval (at the default 5 s, 17,280
 * calls per key per day), single flight, on {@code threads} shared daemon threads. A customer's
 * disable, scheduled deletion or policy change is therefore observed within one interval plus one
 * KMS round trip, whatever the cache holds.
 *
 * <p>{@link #off()} disables probing: revocation is then only observed on a cache miss (up to the
 * cache's max age late) and a latch is lifted only by {@link PanopsCrypto#probe(String)}. Use it
 * for benchmarks and tests of other behaviour, not in production.
 */
public final class ProbeSettings {
  private static final ProbeSettings OFF = new ProbeSettings(null, Duration.ofMinutes(10), 1);

  private final Duration interval;
  private final Duration idleTimeout;
  private final int threads;

  private ProbeSettings(Duration interval, Duration idleTimeout, int threads) {
    this.interval = interval;
    this.idleTimeout = idleTimeout;
    this.threads = threads;
  }

  /** Probes every 5 seconds, idle after 10 minutes, 2 threads. */
  public static ProbeSettings defaults() {
    return every(Duration.ofSeconds(5));
  }

  /**
   * Probes every {@code interval} (at least 50 ms, at most 5 minutes), idle after 10 minutes (or 2
   * intervals if longer), 2 threads.
   */
  public static ProbeSettings every(Duration interval) {
    Objects.requireNonNull(interval, "interval");
    if (interval.compareTo(Duration.ofMillis(50)) < 0
        || interval.compareTo(Duration.ofMinutes(5)) > 0) {
      throw new IllegalArgumentException("probe interval must be 50 ms .. 5 minutes");
    }
    Duration idle = Duration.ofMinutes(10);
    if (idle.compareTo(interval.multipliedBy(2)) < 0) {
      idle = interval.multipliedBy(2);
    }
    return new ProbeSettings(interval, idle, 2);
  }

  /** No probing. See the class comment for what that gives up. */
  public static ProbeSettings off() {
    return OFF;
  }

  /** The same settings with another idle timeout (at least two intervals). */
  public ProbeSettings withIdleTimeout(Duration idle) {
    Objects.requireNonNull(idle, "idle");
    if (interval != null && idle.compareTo(interval.multipliedBy(2)) < 0) {
      throw new IllegalArgumentException("idle timeout must be at least two probe intervals");
    }
    if (idle.isNegative() || idle.isZero()) {
      throw new IllegalArgumentException("idle timeout must be positive");
    }
    return new ProbeSettings(interval, idle, threads);
  }

  /** The same settings with {@code n} (1..16) probe threads. */
  public ProbeSettings withThreads(int n) {
    if (n < 1 || n > 16) {
      throw new IllegalArgumentException("probe threads must be 1..16");
    }
    return new ProbeSettings(interval, idleTimeout, n);
  }

  /** Whether probing is on. */
  public boolean enabled() {
    return interval != null;
  }

  /** The interval, or {@code null} when off. */
  public Duration interval() {
    return interval;
  }

  /** How long a key may go unused before it stops being probed and its cached keys are dropped. */
  public Duration idleTimeout() {
    return idleTimeout;
  }

  /** Number of shared probe threads. */
  public int threads() {
    return threads;
  }

  @Override
  public String toString() {
    return enabled()
        ? "ProbeSettings[every " + interval + ", idle " + idleTimeout + ", " + threads + " threads]"
        : "ProbeSettings[off]";
  }
}
