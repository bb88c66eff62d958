package com.panops.crypto.revocation;

import com.panops.crypto.ProbeSettings;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The probe settings as the kill switch uses them, in ticker nanoseconds: every derived bound in
 * one place. With probes off every interval is {@link Long#MAX_VALUE} (nothing goes stale).
 *
 * @param staleNanos a key not proven alive for this long is probed on the request thread (two
 *     intervals)
 * @param touchNanos use is recorded at most this often (a quarter of the idle timeout, at most 1 s)
 * @param waitNanos the longest a caller waits for a probe: two bounded KMS calls (Encrypt of a new
 *     canary, Decrypt) and 100 ms
 * @param scanNanos the scheduler's period: interval / 50, 10..100 ms
 * @param fallbackNanos with a fleet coordinator, an unlatched key not proven alive for this long
 *     (1.75 intervals) is probed here even if not assigned
 */
record ProbeTiming(
    boolean probing,
    long intervalNanos,
    long staleNanos,
    long idleNanos,
    long touchNanos,
    Duration timeout,
    long waitNanos,
    KeyState.SettleRule settle,
    long scanNanos,
    long fallbackNanos,
    int maxThreads,
    double budgetPerSecond) {

  static ProbeTiming of(ProbeSettings settings) {
    boolean probing = settings.enabled();
    long interval = probing ? settings.interval().toNanos() : Long.MAX_VALUE;
    long idle = settings.idleTimeout().toNanos();
    Duration timeout = settings.timeout();
    long settle = settings.settleTime().toNanos();
    long scan =
        probing
            ? Math.max(
                TimeUnit.MILLISECONDS.toNanos(10),
                Math.min(interval / 50, TimeUnit.MILLISECONDS.toNanos(100)))
            : 0;
    return new ProbeTiming(
        probing,
        interval,
        probing ? 2 * interval : Long.MAX_VALUE,
        idle,
        Math.min(TimeUnit.SECONDS.toNanos(1), idle / 4),
        timeout,
        2 * timeout.toNanos() + TimeUnit.MILLISECONDS.toNanos(100),
        new KeyState.SettleRule(
            settings.settleProbes(),
            settle,
            settleSpacing(settle, settings.settleProbes(), interval),
            probing),
        scan,
        probing ? interval / 4 * 7 : Long.MAX_VALUE,
        settings.threads(),
        settings.budget());
  }

  /**
   * The spacing of probes while a latch settles, chosen so that the last needed probe starts
   * exactly {@code settle} after the first success: {@code settle / m} with {@code m} the larger of
   * {@code probes - 1} and {@code ceil(settle / interval)} (never longer than an interval).
   */
  static long settleSpacing(long settle, int probes, long interval) {
    if (settle == 0) {
      return interval == Long.MAX_VALUE ? 0 : interval;
    }
    long m = Math.max(probes - 1, 1);
    if (interval != Long.MAX_VALUE) {
      m = Math.max(m, (settle + interval - 1) / interval);
    }
    return settle / m;
  }
}
