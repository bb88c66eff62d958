package com.panops.crypto;

import java.time.Duration;
import java.util.Objects;

/**
 * The liveness probe that keeps the kill switch working while the cache is warm. Every {@code
 * interval}, for every CMK used within {@code idleTimeout}, the library decrypts a small canary
 * under the key through KMS: one {@code Decrypt} per key per interval (at the default 5 s, 17,280
 * calls per key per day), single flight. Probes of different keys are spread across the interval
 * and run concurrently on a pool of daemon threads that grows with the measured KMS round trip (up
 * to {@code maxThreads}), so a worker with thousands of active keys still probes each within its
 * interval. A customer's disable, scheduled deletion or policy change is therefore observed within
 * one interval plus one KMS round trip, whatever the cache holds.
 *
 * <p><b>Settling.</b> AWS applies key changes with a propagation delay during which requests may
 * see the old or the new state. A latch set by a customer action (disabled, pending deletion,
 * access denied, not found) is therefore lifted only after {@code settleProbes} consecutive
 * successful probes, all started after the latch, spanning at least {@code settleTime} from the
 * first one's answer to the last one's start (default 3 probes over 10 s): a single success during
 * propagation lifts nothing. While a latch settles, its probes are spaced so that the last one
 * lands exactly at the end of the settle time: a restore is seen at most {@code interval +
 * settleTime} (plus round trips) after the key is usable again. A latch set by a transport failure
 * (timeout, 5xx, throttling) is lifted by the next successful probe.
 *
 * <p><b>Timeout.</b> Every KMS call of a probe, and every request that has to wait for a probe, is
 * bounded by {@code timeout} (default 5 s); a request whose probe fails or does not finish in time
 * fails closed.
 *
 * <p><b>Budget.</b> {@link Builder#budget(double)} caps this worker's scheduled probes at a number
 * of KMS requests per second (a token bucket holding a tenth of a second's worth, at least 2): a
 * probe is one {@code Decrypt}, plus one {@code Encrypt} when its canary is new. A probe due while
 * the bucket is empty waits, the longest-waiting first, and is counted ({@code
 * CryptoMetrics.probeDeferred}; a warning in the log at most once per interval). The budget never
 * weakens the kill switch: a key whose probes keep waiting is not served from cache once its proof
 * of life is two intervals old; the request thread then probes it itself (charged to the budget but
 * never delayed by it) and fails closed if that probe fails. Those charges may take at most half
 * the budget, so scheduled probes keep at least half of it however much traffic probes on request
 * threads, and no key starves (see {@link Builder#budget(double)}). Default: no budget. Size it as
 * this worker's share of the regional KMS quota; with a {@link ProbeCoordinator} a worker probes
 * about {@code keys / workers} keys per interval.
 *
 * <p>{@link #off()} disables scheduled probing: revocation is then only observed on a cache miss
 * (up to the cache's max age late) and a latch is lifted only by {@link PanopsCrypto#probe(String)}
 * (settling applies to those probes too). Use it for benchmarks and tests of other behaviour, not
 * in production.
 */
public final class ProbeSettings {
  private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
  private static final int DEFAULT_SETTLE_PROBES = 3;
  private static final Duration DEFAULT_SETTLE_TIME = Duration.ofSeconds(10);
  private static final int DEFAULT_MAX_THREADS = 64;

  private final Duration interval;
  private final Duration idleTimeout;
  private final int maxThreads;
  private final Duration timeout;
  private final int settleProbes;
  private final Duration settleTime;
  private final double budget;

  private ProbeSettings(
      Duration interval,
      Duration idleTimeout,
      int maxThreads,
      Duration timeout,
      int settleProbes,
      Duration settleTime,
      double budget) {
    this.interval = interval;
    this.idleTimeout = idleTimeout;
    this.maxThreads = maxThreads;
    this.timeout = timeout;
    this.settleProbes = settleProbes;
    this.settleTime = settleTime;
    this.budget = budget;
  }

  /** Probes every 5 seconds, idle after 10 minutes; see the class comment for the rest. */
  public static ProbeSettings defaults() {
    return every(Duration.ofSeconds(5));
  }

  /**
   * Probes every {@code interval} (at least 50 ms, at most 5 minutes), idle after 10 minutes (or 2
   * intervals if longer), at most 64 threads, 5 s timeout, settling over 3 probes and 10 s: {@code
   * builder().interval(interval).build()}.
   */
  public static ProbeSettings every(Duration interval) {
    return builder().interval(interval).build();
  }

  /** No scheduled probing. See the class comment for what that gives up. */
  public static ProbeSettings off() {
    return builder().off().build();
  }

  /** A builder starting from the defaults (every 5 s); {@link Builder#build()} validates. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding these settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.interval = interval;
    b.idleTimeout = idleTimeout;
    b.threads = maxThreads;
    b.timeout = timeout;
    b.settleProbes = settleProbes;
    b.settleTime = settleTime;
    b.budget = budget;
    return b;
  }

  /**
   * The same settings with another idle timeout.
   *
   * @deprecated use {@code toBuilder().idleTimeout(idle).build()}
   */
  @Deprecated(since = "0.3.0")
  public ProbeSettings withIdleTimeout(Duration idle) {
    return toBuilder().idleTimeout(idle).build();
  }

  /**
   * The same settings with at most {@code n} probe threads.
   *
   * @deprecated use {@code toBuilder().threads(n).build()}
   */
  @Deprecated(since = "0.3.0")
  public ProbeSettings withThreads(int n) {
    return toBuilder().threads(n).build();
  }

  /**
   * The same settings with another probe timeout.
   *
   * @deprecated use {@code toBuilder().timeout(t).build()}
   */
  @Deprecated(since = "0.3.0")
  public ProbeSettings withTimeout(Duration t) {
    return toBuilder().timeout(t).build();
  }

  /**
   * The same settings with another settle rule.
   *
   * @deprecated use {@code toBuilder().settle(probes, time).build()}
   */
  @Deprecated(since = "0.3.0")
  public ProbeSettings withSettle(int probes, Duration time) {
    return toBuilder().settle(probes, time).build();
  }

  /**
   * The same settings with a KMS request budget for scheduled probes.
   *
   * @deprecated use {@code toBuilder().budget(requestsPerSecond).build()}
   */
  @Deprecated(since = "0.3.0")
  public ProbeSettings withBudget(double requestsPerSecond) {
    return toBuilder().budget(requestsPerSecond).build();
  }

  /** The KMS request budget of scheduled probes per second, or 0 for none. */
  public double budget() {
    return budget;
  }

  /** Whether scheduled probing is on. */
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

  /** The most probe threads. */
  public int threads() {
    return maxThreads;
  }

  /** The timeout of each probe's KMS calls and of a request's wait for a probe. */
  public Duration timeout() {
    return timeout;
  }

  /** Consecutive successful probes needed to lift a customer-action latch. */
  public int settleProbes() {
    return settleProbes;
  }

  /** The least span of those probes' starts. */
  public Duration settleTime() {
    return settleTime;
  }

  @Override
  public String toString() {
    String settle = ", settle " + settleProbes + " probes over " + settleTime;
    return enabled()
        ? "ProbeSettings[every "
            + interval
            + ", idle "
            + idleTimeout
            + ", up to "
            + maxThreads
            + " threads, timeout "
            + timeout
            + settle
            + (budget > 0 ? ", budget " + budget + " requests/s" : "")
            + "]"
        : "ProbeSettings[off, timeout " + timeout + settle + "]";
  }

  /**
   * Builds {@link ProbeSettings}. Each setter checks its own bounds at once ({@link
   * IllegalArgumentException}); {@link #build()} checks what depends on several (the idle timeout
   * against the interval).
   */
  public static final class Builder {
    private Duration interval = Duration.ofSeconds(5);
    private Duration idleTimeout;
    private int threads = DEFAULT_MAX_THREADS;
    private Duration timeout = DEFAULT_TIMEOUT;
    private int settleProbes = DEFAULT_SETTLE_PROBES;
    private Duration settleTime = DEFAULT_SETTLE_TIME;
    private double budget;

    private Builder() {}

    /** Probes every {@code interval}: at least 50 ms, at most 5 minutes (default 5 s). */
    public Builder interval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (interval.compareTo(Duration.ofMillis(50)) < 0
          || interval.compareTo(Duration.ofMinutes(5)) > 0) {
        throw new IllegalArgumentException("probe interval must be 50 ms .. 5 minutes");
      }
      this.interval = interval;
      return this;
    }

    /** No scheduled probing (see the class comment for what that gives up). */
    public Builder off() {
      this.interval = null;
      return this;
    }

    /**
     * How long a key may go unused before it stops being probed and its cached keys are dropped:
     * positive and at least two intervals (default 10 minutes, or two intervals if longer).
     */
    public Builder idleTimeout(Duration idle) {
      Objects.requireNonNull(idle, "idle");
      if (idle.isNegative() || idle.isZero()) {
        throw new IllegalArgumentException("idle timeout must be positive");
      }
      this.idleTimeout = idle;
      return this;
    }

    /**
     * At most {@code n} (1..256) probe threads (default 64). The pool starts small and is sized
     * from the measured KMS round trip: about {@code 2 × activeKeys × roundTrip / interval}.
     */
    public Builder threads(int n) {
      if (n < 1 || n > 256) {
        throw new IllegalArgumentException("probe threads must be 1..256");
      }
      this.threads = n;
      return this;
    }

    /**
     * The timeout (10 ms .. 60 s, default 5 s) of each KMS call of a probe and of a request waiting
     * on a probe.
     */
    public Builder timeout(Duration t) {
      Objects.requireNonNull(t, "timeout");
      if (t.compareTo(Duration.ofMillis(10)) < 0 || t.compareTo(Duration.ofSeconds(60)) > 0) {
        throw new IllegalArgumentException("probe timeout must be 10 ms .. 60 s");
      }
      this.timeout = t;
      return this;
    }

    /**
     * The settle rule: a customer-action latch is lifted after {@code probes} (1..100) consecutive
     * successful probes spanning at least {@code time} (0 .. 1 hour) from the first one's answer to
     * the last one's start (default 3 over 10 s). {@code settle(1, Duration.ZERO)} lifts on the
     * first success (no protection against AWS's propagation delay: for tests only).
     */
    public Builder settle(int probes, Duration time) {
      Objects.requireNonNull(time, "time");
      if (probes < 1 || probes > 100) {
        throw new IllegalArgumentException("settle probes must be 1..100");
      }
      if (time.isNegative() || time.compareTo(Duration.ofHours(1)) > 0) {
        throw new IllegalArgumentException("settle time must be 0 .. 1 hour");
      }
      this.settleProbes = probes;
      this.settleTime = time;
      return this;
    }

    /**
     * A KMS request budget for scheduled probes: at most {@code requestsPerSecond} (0.1 .. 100,000)
     * on average. Without one (the default) every due probe starts at once.
     *
     * <p>The rule: due probes start in order of their due time as the bucket allows. Probes run on
     * request threads (a key in use whose proof of life is two intervals old) are charged to the
     * bucket but never wait; their charges may take at most half of {@code requestsPerSecond} on
     * average (plus a one-off allowance of one second's worth and the bucket), and charges beyond
     * that are not counted. So scheduled probes always keep at least half the budget and no key
     * starves: with {@code k} keys and a budget of {@code r}, a due probe starts within about
     * {@code (2k + 2.2r + 4) / (r / 2)} seconds, even under traffic that probes every other key on
     * request threads. In particular a key latched by a transient failure (throttling, timeouts),
     * whose requests fail fast without probing, is lifted by its next scheduled probe. The budget
     * never lets a key be served without proof of life within two intervals, and never lifts a
     * latch without a probe.
     */
    public Builder budget(double requestsPerSecond) {
      if (!(requestsPerSecond >= 0.1 && requestsPerSecond <= 100_000)) {
        throw new IllegalArgumentException(
            "probe budget must be 0.1 .. 100,000 requests per second");
      }
      this.budget = requestsPerSecond;
      return this;
    }

    /**
     * The settings.
     *
     * @throws IllegalArgumentException if the idle timeout is shorter than two intervals
     */
    public ProbeSettings build() {
      Duration idle = idleTimeout;
      if (idle == null) {
        idle = Duration.ofMinutes(10);
        if (interval != null && idle.compareTo(interval.multipliedBy(2)) < 0) {
          idle = interval.multipliedBy(2);
        }
      } else if (interval != null && idle.compareTo(interval.multipliedBy(2)) < 0) {
        throw new IllegalArgumentException("idle timeout must be at least two probe intervals");
      }
      return new ProbeSettings(interval, idle, threads, timeout, settleProbes, settleTime, budget);
    }
  }
}
