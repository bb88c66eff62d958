package com.panops.crypto.fleet;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.ProbeCoordinator.Fleet;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * This worker's side of the coordination, shared by the engine's calls and the coordinator's two
 * threads: its identity and clocks, what it says about itself, what it has heard, and when each of
 * its connections last worked.
 */
final class FleetMember {
  /** A revocation or restore waiting to be published. */
  record Event(String kind, String arn, String reason, String errorCode, long basis) {}

  final String id;
  final Ticker ticker;
  final Clock wallClock;
  final FleetMac mac;
  final OwnKeys own = new OwnKeys();
  final ConcurrentLinkedQueue<Event> outbox = new ConcurrentLinkedQueue<>();

  /** The last event read from the table; -1 until the first read. */
  final AtomicLong lastSeenSeq = new AtomicLong(-1);

  final AtomicLong heartbeats = new AtomicLong();
  final AtomicLong published = new AtomicLong();
  volatile boolean closed;
  volatile Fleet fleet;

  /** Whether each key this worker uses is assigned to it, from the last poll. */
  volatile Map<String, Boolean> assignment = Map.of();

  private long healthNanos;
  private volatile long heartbeatOkAt;
  private volatile long pollOkAt;
  private volatile long listenOkAt;

  FleetMember(String id, Ticker ticker, Clock wallClock, FleetMac mac) {
    this.id = id;
    this.ticker = ticker;
    this.wallClock = wallClock;
    this.mac = mac;
  }

  /** Joins with every connection as long failed: nothing is trusted before it works. */
  void start(Fleet f, FleetTiming timing) {
    this.fleet = f;
    this.healthNanos = timing.healthNanos();
    long now = ticker.read();
    this.heartbeatOkAt = now - healthNanos;
    this.pollOkAt = now - healthNanos;
    this.listenOkAt = now - healthNanos;
  }

  void heartbeatWorked() {
    heartbeatOkAt = ticker.read();
  }

  void pollWorked() {
    pollOkAt = ticker.read();
  }

  void listenWorked() {
    listenOkAt = ticker.read();
  }

  /** Whether the heartbeat, the poll and the LISTEN connection each worked recently enough. */
  boolean connectionsFresh() {
    long now = ticker.read();
    return now - heartbeatOkAt < healthNanos
        && now - pollOkAt < healthNanos
        && now - listenOkAt < healthNanos
        && lastSeenSeq.get() >= 0;
  }

  /** Whether revocations are heard: only then do the others' attestations count. */
  boolean listening() {
    return ticker.read() - listenOkAt < healthNanos;
  }
}
