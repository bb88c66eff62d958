package com.panops.crypto.revocation;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The revocation state of one customer master key, and the one place its latch changes.
 *
 * <p>The latch is a state machine with three states and four transitions, every one of them taken
 * under this object's monitor by a method of this class:
 *
 * <pre>
 *            set (any failure that latches; epoch + 1, purge, REVOKED)
 *   OPEN ─────────────────────────────────────────────▶ LATCHED ──┐ set again (epoch + 1; a
 *    ▲                                                    │  ▲     │ latch that has seen a
 *    │ lift: a probe started in the current epoch         │  └─────┘ customer action keeps
 *    │ succeeded (RESTORED); or the fleet's word for a    │          settling)
 *    │ latch no KMS call of this worker set               │ settles: a customer action's latch
 *    │                                                    ▼ counts successful probes
 *    └──────────────────────────────────────────────── SETTLING (settleProbes successes spanning
 *                                                               settleTime, all in one epoch)
 * </pre>
 *
 * <p>Epochs: every set increments the epoch; a probe or cache load that started in an older epoch
 * changes nothing (a late answer never lifts a newer latch, a data key loaded across a latch is
 * never served). The warm path reads the latch and the epoch with one volatile read each. Events
 * are queued under the monitor in the order of the transitions that made them and delivered in that
 * order (see {@link EventDispatch}), so a listener never sees RESTORED after a newer REVOKED.
 */
public final class KeyState {
  /** A set latch. Its settling counters are guarded by the {@link KeyState} monitor. */
  static final class Latch {
    final RevocationReason reason;
    final Throwable cause;
    final String errorCode;
    final long epoch;

    /** Whether the latch lifts only after settling (it has seen a customer action). */
    final boolean settles;

    /**
     * Whether a KMS call of this worker set (or re-set) this latch; {@code false} for a latch set
     * by the fleet's coordinator alone, the only kind the coordinator may lift.
     */
    final boolean local;

    private int successes;
    private long firstSuccessAt;

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

  /** What a successful probe did to the latch. */
  enum ProbeVerdict {
    /** A latch was set while the probe ran: its answer predates it; nothing changed. */
    STALE,
    /** No latch: the key was recorded alive. */
    ALIVE,
    /** The latch is settling and needs more successful probes. */
    SETTLING,
    /** The latch was lifted (a RESTORED event is queued). */
    LIFTED
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

  /** A probe for failures about one ciphertext: when it started (ticker) and its outcome. */
  record CiphertextProbe(long startNanos, CompletableFuture<Boolean> outcome) {}

  final String arn;
  final String tenant;
  private volatile Latch latch;
  private volatile long epoch;

  volatile Canary canary;
  volatile long lastUsedNanos;
  volatile long lastAliveNanos;
  volatile boolean active;
  volatile long nextProbeNanos;

  /** Whether this key's due probe is waiting for the probe budget (the scheduler's thread only). */
  boolean waitingForBudget;

  final AtomicReference<Probe> probeInFlight = new AtomicReference<>();

  /** The latest per-ciphertext probe of this key (they are spaced, see {@link Prober}). */
  final AtomicReference<CiphertextProbe> ciphertextProbe = new AtomicReference<>();

  private final ArrayDeque<RevocationEvent> pending = new ArrayDeque<>();

  /** Held while delivering this key's events, so that they leave in order. */
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

  /** The current latch, or {@code null}: one volatile read. */
  Latch latch() {
    return latch;
  }

  /** Whether a data key loaded by a call that started in {@code loadEpoch} may be used. */
  boolean admits(long loadEpoch) {
    return epoch == loadEpoch && latch == null;
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

  // ---- transitions: each under this monitor ----

  /**
   * Sets (or re-sets) the latch in a new epoch. A latch that has seen a customer action keeps
   * needing to settle, whatever fails next; one set locally stays local until lifted. The first
   * latch queues a REVOKED event.
   *
   * @param local whether a KMS call of this worker set it ({@code false}: the fleet's word)
   * @return whether the key was not latched before (the caller then purges its data keys)
   */
  synchronized boolean set(
      RevocationReason reason, Throwable cause, String code, boolean local, Clock clock) {
    Latch old = latch;
    boolean first = old == null;
    boolean keepOld = old != null && old.settles && !reason.isCustomerAction();
    boolean isLocal = local || (old != null && old.local);
    long e = epoch + 1;
    Latch now =
        keepOld
            ? new Latch(old.reason, old.cause, old.errorCode, e, true, isLocal)
            : new Latch(reason, cause, code, e, reason.isCustomerAction(), isLocal);
    epoch = e;
    latch = now;
    if (first) {
      pending.add(
          new RevocationEvent(
              arn, RevocationEvent.Kind.REVOKED, now.reason, clock.instant(), now.errorCode));
    }
    return first;
  }

  /**
   * A probe that started at {@code start} (ticker) in {@code probeEpoch} succeeded, answered at
   * {@code now}. Unlatched: records the key alive and runs {@code whileAlive} under the monitor (so
   * that no latch is reported before it). Latched: lifts a latch that does not settle; counts a
   * settling latch's successes, lifting it once {@code rule} is met (the span runs from the first
   * success's answer, not its start, to the start of the latest probe).
   */
  synchronized ProbeVerdict probeSucceeded(
      long probeEpoch, long start, long now, SettleRule rule, Runnable whileAlive, Clock clock) {
    if (epoch != probeEpoch) {
      return ProbeVerdict.STALE;
    }
    Latch l = latch;
    if (l == null) {
      lastAliveNanos = now;
      whileAlive.run();
      return ProbeVerdict.ALIVE;
    }
    if (l.settles) {
      if (l.successes == 0) {
        l.firstSuccessAt = now;
      }
      l.successes++;
      long span = l.successes == 1 ? 0 : start - l.firstSuccessAt;
      if (l.successes < rule.probes() || span < rule.timeNanos()) {
        if (rule.scheduled()) {
          nextProbeNanos = l.firstSuccessAt + l.successes * rule.spacingNanos();
        }
        return ProbeVerdict.SETTLING;
      }
    }
    lift(now, clock);
    return ProbeVerdict.LIFTED;
  }

  /**
   * The fleet says the key is served again: lifts only a latch that no KMS call of this worker set
   * (a latch set locally, even after the coordinator decided, waits for a local probe).
   *
   * @return whether the latch was lifted
   */
  synchronized boolean liftByFleet(long now, Clock clock) {
    Latch l = latch;
    if (l == null || l.local) {
      return false;
    }
    lift(now, clock);
    return true;
  }

  /** The fleet proved the key alive at {@code at} (ticker): moves the proof forward, never back. */
  synchronized void provenAliveByFleet(long at) {
    if (latch == null && at - lastAliveNanos > 0) {
      lastAliveNanos = at;
    }
  }

  /** The next undelivered event, in transition order, or {@code null}. */
  synchronized RevocationEvent nextPending() {
    return pending.poll();
  }

  private void lift(long now, Clock clock) {
    latch = null;
    lastAliveNanos = now;
    pending.add(
        new RevocationEvent(arn, RevocationEvent.Kind.RESTORED, null, clock.instant(), null));
  }

  /**
   * When a settling latch lifts: after {@code probes} consecutive successful probes spanning {@code
   * timeNanos}; with {@code scheduled} probes, the next one is due {@code spacingNanos} after the
   * previous success's slot.
   */
  record SettleRule(int probes, long timeNanos, long spacingNanos, boolean scheduled) {}
}
