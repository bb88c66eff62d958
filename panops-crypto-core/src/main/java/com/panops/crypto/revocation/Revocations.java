package com.panops.crypto.revocation;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.ProbeCoordinator;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationListener;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.kms.KmsGateway;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.observe.GuardedMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The kill switch: what the engine asks before using a key and tells after each KMS call. Every
 * customer master key the library touches has a {@link KeyState}; a set latch makes every
 * encryption and decryption under the key fail fast without calling KMS. The rooms it is built
 * from:
 *
 * <ul>
 *   <li>{@link KeyState}: the latch's state machine (set, settle, lift, epochs) and its events;
 *   <li>{@link FailureRules}: what a failed KMS call means (latch, probe, or fail the call);
 *   <li>{@link Prober}: liveness probes, joined and bounded; per-ciphertext probes spaced;
 *   <li>{@link ProbeScheduler} and {@link ProbeBudget}: scheduled probes, idle keys, the pool;
 *   <li>{@link FleetBridge}: the optional fleet coordinator;
 *   <li>{@link EventDispatch}: events to listeners, in transition order.
 * </ul>
 *
 * <p>The warm path ({@link #beforeUse}) is a closed check, a use stamp, one volatile read of the
 * latch and a staleness check: a key not proven alive for two probe intervals is confirmed by a
 * probe on the request thread before it is served. Internal.
 */
public final class Revocations implements AutoCloseable {
  /** Drops (and retires) every cached data key of a CMK. */
  @FunctionalInterface
  public interface Purger {
    void purge(String keyArn);
  }

  private final Purger purger;
  private final CryptoMetrics metrics;
  private final Ticker ticker;
  private final Clock clock;
  private final ProbeTiming timing;
  private final EventDispatch events;
  private final FleetBridge fleet;
  private final Prober prober;
  private final ProbeScheduler scheduler;
  private final ConcurrentHashMap<String, KeyState> states = new ConcurrentHashMap<>();
  private volatile boolean closed;

  public Revocations(
      KmsGateway kms,
      Purger purger,
      List<RevocationListener> listeners,
      CryptoMetrics metrics,
      Ticker ticker,
      Clock clock,
      ProbeSettings settings) {
    this(kms, purger, listeners, metrics, ticker, clock, settings, null);
  }

  /**
   * As the other constructor, with a fleet {@code coordinator} ({@code null}: standalone). The
   * coordinator is started here and closed by {@link #close()}.
   */
  public Revocations(
      KmsGateway kms,
      Purger purger,
      List<RevocationListener> listeners,
      CryptoMetrics metrics,
      Ticker ticker,
      Clock clock,
      ProbeSettings settings,
      ProbeCoordinator coordinator) {
    if (coordinator != null && !settings.enabled()) {
      throw new IllegalArgumentException("a probe coordinator needs probes enabled");
    }
    this.purger = purger;
    this.metrics = GuardedMetrics.of(metrics);
    this.ticker = ticker;
    this.clock = clock;
    this.timing = ProbeTiming.of(settings);
    this.events = new EventDispatch(listeners, this.metrics);
    this.fleet = new FleetBridge(coordinator, states, ticker, clock, timing, events);
    ProbeBudget budget =
        timing.probing() && timing.budgetPerSecond() > 0
            ? new ProbeBudget(timing.budgetPerSecond(), ticker.read())
            : null;
    this.prober = new Prober(kms, new ProbeOutcomes(), this.metrics, ticker, timing, budget);
    if (timing.probing()) {
      this.scheduler =
          new ProbeScheduler(
              states.values(), purger, fleet, prober, budget, this.metrics, ticker, timing);
      fleet.start((s, r, cause, code) -> latch(s, r, cause, code, false), () -> closed);
      scheduler.start();
    } else {
      this.scheduler = null;
    }
  }

  /** The state of {@code arn}, created on first use. */
  public KeyState state(String arn, String tenant) {
    KeyState s = states.get(arn);
    return s != null ? s : states.computeIfAbsent(arn, a -> new KeyState(a, tenant, ticker.read()));
  }

  /** The state of {@code arn} if it exists. */
  public KeyState existingState(String arn) {
    return states.get(arn);
  }

  /** Whether {@link #close()} was called. */
  public boolean isClosed() {
    return closed;
  }

  /** Throws if this instance was closed. */
  public void checkOpen() {
    if (closed) {
      throw new IllegalStateException("PanopsCrypto is closed");
    }
  }

  /**
   * The warm-path gate: fails if closed or latched; records use; and if the key has not been proven
   * alive for two probe intervals, confirms it with a probe (joined or run on this thread, bounded
   * by the probe timeout) before going on, failing closed if that probe fails or does not finish.
   *
   * @throws KeyRevokedException if the key is latched
   * @throws KmsUnavailableException if the key's liveness could not be confirmed in time
   * @throws IllegalStateException if closed
   */
  public void beforeUse(KeyState s) {
    if (closed) {
      checkOpen();
    }
    long now = ticker.read();
    // Before the latch check: a latched key that is still wanted stays probed.
    s.touch(now, timing.touchNanos());
    s.checkNotRevoked();
    if (now - s.lastAliveNanos > timing.staleNanos()) {
      Boolean ok = prober.awaitProbe(s, Long.MIN_VALUE);
      checkOpen();
      s.checkNotRevoked();
      if (ok == null || !ok) {
        throw new KmsUnavailableException(
            "liveness of KMS key " + s.arn + " could not be confirmed within " + timing.timeout(),
            null);
      }
    }
  }

  /**
   * A KMS call that returned a data key under {@code s} and started in {@code epoch} finished:
   * returns whether the key may be used (no latch, same epoch) and, if so, records the key as alive
   * and active. On {@code false} the caller must discard the data key.
   */
  public boolean loaded(KeyState s, long epoch) {
    if (!s.admits(epoch) || closed) {
      return false;
    }
    long now = ticker.read();
    s.lastAliveNanos = now;
    if (!s.active) {
      s.active = true;
      if (timing.probing() && s.nextProbeNanos == 0) {
        s.nextProbeNanos = now + ThreadLocalRandom.current().nextLong(timing.intervalNanos());
      }
      fleet.interested(s);
    }
    return true;
  }

  /**
   * Handles a failed KMS call that was to give a data key under {@code s} and returns the exception
   * to throw ({@link FailureRules}). Must not be called inside a cache load: it may purge the cache
   * and wait for a probe.
   */
  public RuntimeException onDataKeyFailure(KeyState s, KmsCallException e, boolean decrypt) {
    RevocationReason r = e.reason();
    Throwable cause = e.getCause() != null ? e.getCause() : e;
    switch (FailureRules.ofDataKeyFailure(e, s.arn, decrypt)) {
      case ABANDONED:
        Thread.currentThread().interrupt();
        return new KmsUnavailableException(
            "KMS call for key " + s.arn + " abandoned: the thread was interrupted", cause);
      case JUDGE_BY_PROBE:
        return judgedByProbe(s, e, cause);
      case LATCH:
        latch(s, r, cause, e.errorCode());
        return new KeyRevokedException(s.arn, r, cause);
      default:
        return new KmsUnavailableException(
            "KMS unavailable for key " + s.arn + " (" + e.errorCode() + ")", cause);
    }
  }

  /**
   * A refusal that may be about one ciphertext: the key's spaced probe decides. It latches the key
   * if the key is revoked; if it succeeds the caller gets IntegrityException for that message and
   * nothing else changes; if it does not finish in time, KmsUnavailableException (its outcome still
   * applies).
   */
  private RuntimeException judgedByProbe(KeyState s, KmsCallException e, Throwable cause) {
    Boolean ok = prober.ciphertextProbe(s);
    KeyRevokedException revoked = s.revocation();
    if (revoked != null) {
      return revoked;
    }
    if (ok != null && ok) {
      return new IntegrityException(cause);
    }
    checkOpen();
    return new KmsUnavailableException(
        "KMS refused a data key ("
            + e.errorCode()
            + ") and a probe of KMS key "
            + s.arn
            + " did not finish within "
            + timing.timeout(),
        cause);
  }

  /**
   * Latches {@code s} for a KMS refusal {@code e} that reports a customer action (a call that
   * cannot tell which of its keys refused, such as {@code ReEncrypt}, attributes it first) and
   * returns the exception to throw: the latch's.
   */
  public RuntimeException onCustomerRefusal(KeyState s, KmsCallException e) {
    if (!e.reason().isCustomerAction()) {
      throw new IllegalArgumentException("not a customer action: " + e.reason());
    }
    latch(s, e.reason(), e.getCause() != null ? e.getCause() : e, e.errorCode());
    KeyRevokedException revoked = s.revocation();
    return revoked != null ? revoked : new KeyRevokedException(s.arn, e.reason(), e.getCause());
  }

  /** Latches {@code s} on this worker's own KMS answer and tells the fleet. */
  void latch(KeyState s, RevocationReason reason, Throwable cause, String code) {
    latch(s, reason, cause, code, true);
    fleet.latched(s, reason, code);
  }

  private void latch(
      KeyState s, RevocationReason reason, Throwable cause, String code, boolean local) {
    if (s.set(reason, cause, code, local, clock)) {
      // Loads in flight see the new epoch and discard what they get; entries they insert after
      // this purge carry the old epoch and are discarded on first touch. While latched no load
      // can succeed, so a re-latch needs no purge.
      purger.purge(s.arn);
    }
    events.deliver(s);
  }

  /**
   * Runs a probe of {@code s} that starts after this call (waiting out one already in flight, which
   * may have started before a change the caller wants to see) and returns whether KMS decrypted the
   * canary. Bounded by the probe timeout ({@code false} if it does not finish).
   */
  public boolean probeFresh(KeyState s) {
    checkOpen();
    Boolean ok = prober.awaitProbe(s, prober.mark());
    return ok != null && ok;
  }

  /** What the prober's outcomes do: latch, or record success (lifting or settling a latch). */
  private final class ProbeOutcomes implements Prober.Outcomes {
    @Override
    public void latch(KeyState s, RevocationReason reason, Throwable cause, String code) {
      Revocations.this.latch(s, reason, cause, code);
    }

    @Override
    public void succeeded(KeyState s, long epoch, long start) {
      long now = ticker.read();
      Duration since = Duration.ofNanos(Math.max(0, now - start));
      KeyState.ProbeVerdict v =
          s.probeSucceeded(
              epoch, start, now, timing.settle(), () -> fleet.probeSucceeded(s, since), clock);
      if (v == KeyState.ProbeVerdict.LIFTED) {
        fleet.restored(s);
        events.deliver(s);
      }
    }

    @Override
    public boolean closed() {
      return closed;
    }
  }

  /** Scheduled probes that had to wait for the budget so far (once per key per wait). */
  public long probesDeferred() {
    return scheduler == null ? 0 : scheduler.deferrals();
  }

  /** The probe pool's current size limit (for tests and the benchmark). */
  public int probeThreads() {
    return scheduler == null ? 0 : scheduler.threads();
  }

  /** One pass of the scheduler (tests drive it after {@link #stopSchedulerForTests}). */
  void scan() {
    if (scheduler != null) {
      scheduler.scan();
    }
  }

  /** Whether every probe handed to the pool has finished (for tests). */
  boolean probePoolIdleForTests() {
    return scheduler == null || scheduler.idle();
  }

  /** Stops the background scheduler only (tests drive {@link #scan} and the decisions). */
  void stopSchedulerForTests() {
    if (scheduler != null) {
      scheduler.stopScanning();
    }
  }

  /** Whether this worker runs the scheduled probe of {@code s} ({@link FleetBridge}). */
  boolean probesHere(KeyState s, long now) {
    return fleet.probesHere(s, now);
  }

  /** Stops the scheduler and the probes; every later use fails. */
  @Override
  public void close() {
    closed = true;
    if (scheduler != null) {
      scheduler.close();
    }
    fleet.close();
  }
}
