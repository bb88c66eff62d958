package com.panops.crypto.revocation;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The revocation state of one customer master key: the latch and its epoch, its liveness canary,
 * and when it was last used and last proven alive. The warm path reads it with volatile reads only;
 * every latch transition happens under this object's monitor (latches and probe outcomes are rare).
 * Internal.
 */
public final class KeyState {
  /**
   * A set latch: why, what KMS said, the epoch it was set in and, for a latch that must settle, the
   * consecutive successful probes seen since (guarded by the {@link KeyState} monitor).
   */
  static final class Latch {
    final RevocationReason reason;
    final Throwable cause;
    final String errorCode;
    final long epoch;
    final boolean settles;

    /**
     * Whether a KMS call of this worker set (or re-set) this latch; {@code false} for a latch set
     * by the fleet's coordinator alone, the only kind the coordinator may lift.
     */
    final boolean local;

    int successes;
    long firstSuccessAt;

    Latch(
        RevocationReason reason,
        Throwable cause,
        String errorCode,
        long epoch,
        boolean settles,
        boolean local) {
      this.reason = reason;
      this.cause = cause;
      this.errorCode = errorCode;
      this.epoch = epoch;
      this.settles = settles;
      this.local = local;
    }
  }

  /** The canary: a ciphertext of random bytes under this key, decrypted by every probe. */
  record Canary(byte[] ciphertext, byte[] plaintext) {
    @Override
    public String toString() {
      return "Canary[redacted]";
    }
  }

  /** A probe in flight: its outcome and its start mark (probes with a higher mark are newer). */
  record Probe(CompletableFuture<Boolean> outcome, long mark) {}

  final String arn;
  final String tenant;
  volatile Latch latch;

  /** Incremented (under the monitor) by every latch; never decreases. */
  volatile long epoch;

  volatile Canary canary;
  volatile long lastUsedNanos;
  volatile long lastAliveNanos;
  volatile boolean active;
  volatile long nextProbeNanos;

  /** Whether this key's due probe is waiting for the probe budget (the scheduler's thread only). */
  boolean waitingForBudget;

  final AtomicReference<Probe> probeInFlight = new AtomicReference<>();

  /** A probe for failures about one ciphertext: when it started (ticker) and its outcome. */
  record CiphertextProbe(long startNanos, CompletableFuture<Boolean> outcome) {}

  /** The latest per-ciphertext probe of this key (see Revocations: they are spaced). */
  final AtomicReference<CiphertextProbe> ciphertextProbe = new AtomicReference<>();

  /**
   * Events of this key not yet delivered, appended under this object's monitor in the order of the
   * transitions that made them; delivered in that order under {@link #delivery}. So a listener
   * never sees RESTORED after a newer REVOKED.
   */
  final ArrayDeque<RevocationEvent> pending = new ArrayDeque<>();

  final Object delivery = new Object();

  KeyState(String arn, String tenant, long now) {
    this.arn = arn;
    this.tenant = tenant;
    this.lastUsedNanos = now;
    this.lastAliveNanos = now;
  }

  /** The key's ARN. */
  public String arn() {
    return arn;
  }

  /** Whether the key is latched as revoked. */
  public boolean isRevoked() {
    return latch != null;
  }

  /**
   * The current revocation epoch. A data key loaded by a KMS call that started in an older epoch
   * must not be used: a latch was set while the call was in flight.
   */
  public long epoch() {
    return epoch;
  }

  /**
   * Fails fast if latched.
   *
   * @throws KeyRevokedException if the key is latched
   */
  public void checkNotRevoked() {
    Latch l = latch;
    if (l != null) {
      throw revoked(l);
    }
  }

  /**
   * The exception for the current latch, or {@code null} if not latched: one read, for callers that
   * must not see "latched" and then "not latched" between two checks.
   */
  public KeyRevokedException revocation() {
    Latch l = latch;
    return l == null ? null : revoked(l);
  }

  KeyRevokedException revoked(Latch l) {
    return new KeyRevokedException(arn, l.reason, l.cause);
  }

  /**
   * Records use at {@code now}, written at most once per {@code granularity} (a quarter of the idle
   * timeout, at most a second) to keep the cache line quiet.
   */
  void touch(long now, long granularity) {
    if (now - lastUsedNanos > granularity) {
      lastUsedNanos = now;
    }
  }
}
