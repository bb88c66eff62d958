package com.panops.crypto.fleet;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The coordinator's periods, all derived from the engine's probe interval: a heartbeat every
 * quarter interval; a member row and each of the coordinator's own successes count for three
 * heartbeats.
 */
record FleetTiming(long intervalMs, long heartbeatMs, long memberTtlMs, long healthNanos) {
  static FleetTiming of(Duration probeInterval) {
    long interval = Math.max(40, probeInterval.toMillis());
    long heartbeat = interval / 4;
    return new FleetTiming(
        interval, heartbeat, 3 * heartbeat, TimeUnit.MILLISECONDS.toNanos(3 * heartbeat));
  }

  /** The network timeout of each of the coordinator's connections. */
  int networkTimeoutMs() {
    return (int) Math.max(1000, 2 * intervalMs);
  }
}
