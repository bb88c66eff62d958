package com.panops.crypto.revocation;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.ProbeCoordinator;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationListener;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.format.FrameCipher;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.kms.KmsGateway;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.metrics.GuardedMetrics;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * The kill switch.
 *
 * Every customer master key (CMK) the library touches has a KeyState. A set latch makes every
 * encryption and decryption under the key fail fast (KeyState.checkNotRevoked, one volatile read),
 * without calling KMS. How "any KMS Decrypt failure is a hard revocation signal" is implemented
 * (SECURITY.md says the same, and a test covers each line):
 *   - A failure about the key's state or our permission (Disabled, KMSInvalidState, AccessDenied,
 *     NotFound, KeyUnavailable) latches at once.
 *   - A transport failure (timeout, reset, 5xx, throttling after the SDK's retries) latches (fail
 *     closed) and the next successful probe lifts it.
 *   - A failure about one ciphertext (InvalidCiphertext, IncorrectKey, a plaintext of the wrong
 *     length) purges nothing: a probe of the key decides. If it fails, the key latches as usual;
 *     if it succeeds, the caller gets IntegrityException for that message and nothing else
 *     changes; if it does not finish in time the caller gets KmsUnavailableException (and the
 *     probe's outcome still applies). These probes are spaced: at most one is started per key per
 *     CIPHERTEXT_PROBE_SPACING, and every per-ciphertext failure of the key that comes while it
 *     runs, or less than that after it started, takes its outcome (so a flood of bad rows costs
 *     one probe a second, not one per row). A customer-action error (NotFound, Disabled, ...)
 *     whose message does not name this key counts as about the ciphertext too: KMS looked at
 *     another key, named inside an altered encrypted data key; the probe latches this key if it is
 *     revoked. An interrupted thread never starts a probe (its KMS calls would be aborted unasked). The refused encrypted data key is remembered
 *     (cache.RefusedCiphertexts, by its every byte and its context): reading that ciphertext again
 *     asks KMS nothing and, once a probe has judged it, throws IntegrityException after the latch
 *     check, so one bad row re-read in a loop cannot spend the account's KMS quota.
 *   - No Decrypt failure is ever ignored or retried past; only a refusal of one ciphertext is
 *     remembered, and only as a refusal.
 * GenerateDataKey/Encrypt failures latch for customer actions and bad answers; other failures only
 * fail the call (KmsUnavailableException): encryption releases no plaintext.
 *
 * Epochs. Every latch increments the key's epoch under the KeyState monitor. A probe reads the
 * epoch before it calls KMS and, on success, changes nothing if the epoch moved meanwhile: a late
 * answer never lifts a newer latch. A cache load reads the epoch before KMS and discards its data
 * key if the epoch moved or a latch is set when KMS answers; every cached entry carries the epoch
 * its load started in and callers discard entries from an older epoch, so a load that raced a purge
 * is never served. "Alive" is recorded only by calls that started in the current epoch.
 *
 * Settling. A latch set by a customer action is lifted only after settleProbes consecutive
 * successful probes, all started after the latch, spanning settleTime from the first one's answer
 * to the last one's start; once a latch has
 * seen a customer action it keeps that requirement until lifted, whatever fails next. Other latches
 * lift on the first successful probe that started after them.
 *
 * Probes. A probe Encrypts a random canary under the key once (purpose "liveness-probe" in the
 * encryption context, so the customer's CloudTrail tells probes from data access) and Decrypts it,
 * naming the key. Scheduled probes are spread across the interval (each key has its own phase) and
 * run on a pool sized from the measured KMS round trip. A request that must confirm its key (stale
 * for two intervals, or a per-ciphertext failure) joins a probe of that key already in flight or
 * runs one on its own thread: it never queues behind other keys' probes. Every probe KMS call and
 * every wait is bounded by the probe timeout. Any unexpected exception in a probe is a failed probe
 * and latches. A key idle for longer than the idle timeout stops being probed and its cached data
 * keys are dropped, so nothing is ever served from cache for a key that is not being probed.
 *
 * Budget (optional, ProbeSettings.withBudget). Scheduled probes take tokens from a bucket
 * (ProbeBudget); when it is empty the due probes wait, longest-waiting first (strictly in order of
 * their due time), each counted once per wait. A request-thread probe is charged but never waits;
 * charges may take at most half the budget (beyond that they are not counted), so scheduled probes
 * keep at least half of it whatever the traffic and no key starves: a due probe waits at most for
 * the other keys' probes ahead of it, at half the rate. That matters most for a latched key, whose
 * requests fail fast without probing: only a probe may lift its latch. The budget changes only when background probes start, never what is served: a
 * key whose proof of life is two intervals old is probed on the request thread as always.
 *
 * Fleet coordination (optional, ProbeCoordinator). With a coordinator, the scheduler probes a key
 * only if (a) it holds a latch set by this worker's own KMS call (only this worker's probe may lift
 * it), or (b) the coordinator assigns the key to this worker (every key while it is unhealthy), or
 * (c) the key is unlatched and was not proven alive for 1.75 intervals (attestations stopped: fall
 * back to local probes). A key latched by the fleet alone is probed only if assigned: its restore
 * comes from the fleet (or from this worker's probe once the coordinator is unhealthy). Fleet
 * attestations only move lastAliveNanos forward and are ignored while latched; fleet revocations
 * latch as a local failure would (new epoch, purge) but with local=false; a fleet restore lifts
 * only a latch with local=false, under the monitor, so it cannot lift a latch a local call set, even
 * one set between the coordinator's decision and the lift. The request thread's two-interval check
 * (beforeUse) is unchanged, so nothing is served without a proof of life at most two intervals old.
 */
/** The kill switch: latches, epochs, liveness probes and revocation events. Internal. */
public final class Revocations implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Revocations.class);
  private static final long INITIAL_RTT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /** At most one probe per key per this for failures about one ciphertext (see the rules). */
  static final long CIPHERTEXT_PROBE_SPACING_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** Drops (and retires) every cached data key of a CMK. */
  @FunctionalInterface
  public interface Purger {
    void purge(String keyArn);
  }

  private final KmsGateway kms;
  private final Purger purger;
  private final List<RevocationListener> listeners;
  private final CryptoMetrics metrics;
  private final Ticker ticker;
  private final Clock clock;
  private final boolean probing;
  private final long intervalNanos;
  private final long staleNanos;
  private final long idleNanos;
  private final long touchNanos;
  private final Duration timeout;
  private final long waitNanos;
  private final int settleProbes;
  private final long settleNanos;
  private final long settleSpacingNanos;
  private final int maxThreads;

  /** The scheduler's period: interval / 50, 10..100 ms. */
  private final long scanNanos;

  private final ProbeCoordinator coordinator;
  private final long fallbackNanos;
  private final ProbeBudget budget;
  private final double budgetPerSecond;
  private final AtomicLong deferrals = new AtomicLong();
  private long lastBudgetWarning; // the scheduler's thread only
  private final ConcurrentHashMap<String, KeyState> states = new ConcurrentHashMap<>();
  private final AtomicLong marks = new AtomicLong();
  private final ScheduledExecutorService scanner;
  private final ThreadPoolExecutor pool;
  private volatile long rttNanos = INITIAL_RTT_NANOS;
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
    this.coordinator = coordinator;
    this.kms = kms;
    this.purger = purger;
    this.listeners = List.copyOf(listeners);
    this.metrics = GuardedMetrics.of(metrics);
    this.ticker = ticker;
    this.clock = clock;
    this.probing = settings.enabled();
    this.intervalNanos = probing ? settings.interval().toNanos() : Long.MAX_VALUE;
    this.staleNanos = probing ? 2 * intervalNanos : Long.MAX_VALUE;
    this.idleNanos = settings.idleTimeout().toNanos();
    this.touchNanos = Math.min(TimeUnit.SECONDS.toNanos(1), idleNanos / 4);
    this.timeout = settings.timeout();
    // A probe is at most two KMS calls (Encrypt of a new canary, Decrypt), each bounded.
    this.waitNanos = 2 * timeout.toNanos() + TimeUnit.MILLISECONDS.toNanos(100);
    this.settleProbes = settings.settleProbes();
    this.settleNanos = settings.settleTime().toNanos();
    this.settleSpacingNanos = settleSpacing(settleNanos, settleProbes, intervalNanos);
    this.maxThreads = settings.threads();
    this.scanNanos =
        probing
            ? Math.max(
                TimeUnit.MILLISECONDS.toNanos(10),
                Math.min(intervalNanos / 50, TimeUnit.MILLISECONDS.toNanos(100)))
            : 0;
    this.fallbackNanos = probing ? intervalNanos / 4 * 7 : Long.MAX_VALUE;
    this.budgetPerSecond = settings.budget();
    this.budget =
        probing && budgetPerSecond > 0 ? new ProbeBudget(budgetPerSecond, ticker.read()) : null;
    this.lastBudgetWarning = ticker.read() - intervalNanos;
    if (probing) {
      AtomicInteger n = new AtomicInteger();
      ThreadPoolExecutor p =
          new ThreadPoolExecutor(
              1,
              1,
              30,
              TimeUnit.SECONDS,
              new LinkedBlockingQueue<>(),
              r -> {
                Thread t = new Thread(r, "panops-crypto-probe-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
              });
      p.allowCoreThreadTimeOut(true);
      this.pool = p;
      ScheduledThreadPoolExecutor s =
          new ScheduledThreadPoolExecutor(
              1,
              r -> {
                Thread t = new Thread(r, "panops-crypto-probe-scheduler");
                t.setDaemon(true);
                return t;
              });
      this.scanner = s;
      if (coordinator != null) {
        coordinator.start(new FleetSide());
      }
      scanner.scheduleAtFixedRate(this::scan, scanNanos, scanNanos, TimeUnit.NANOSECONDS);
    } else {
      this.pool = null;
      this.scanner = null;
    }
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
    s.touch(now, touchNanos);
    s.checkNotRevoked();
    if (now - s.lastAliveNanos > staleNanos) {
      Boolean ok = awaitProbe(s, Long.MIN_VALUE);
      checkOpen();
      s.checkNotRevoked();
      if (ok == null || !ok) {
        throw new KmsUnavailableException(
            "liveness of KMS key " + s.arn + " could not be confirmed within " + timeout, null);
      }
    }
  }

  /**
   * A KMS call that returned a data key under {@code s} and started in {@code epoch} finished:
   * returns whether the key may be used (no latch, same epoch) and, if so, records the key as alive
   * and active. On {@code false} the caller must discard the data key.
   */
  public boolean loaded(KeyState s, long epoch) {
    if (s.epoch != epoch || s.latch != null || closed) {
      return false;
    }
    long now = ticker.read();
    s.lastAliveNanos = now;
    if (!s.active) {
      s.active = true;
      if (probing && s.nextProbeNanos == 0) {
        s.nextProbeNanos = now + ThreadLocalRandom.current().nextLong(intervalNanos);
      }
      if (coordinator != null) {
        tell(() -> coordinator.interested(s.arn));
      }
    }
    return true;
  }

  /**
   * Handles a failed KMS call that was to give a data key under {@code s} and returns the exception
   * to throw (see the rules at the top of this file). Must not be called inside a cache load: it
   * may purge the cache and wait for a probe.
   */
  public RuntimeException onDataKeyFailure(KeyState s, KmsCallException e, boolean decrypt) {
    RevocationReason r = e.reason();
    Throwable cause = e.getCause() != null ? e.getCause() : e;
    if (e.interrupted()) {
      // The caller's thread was interrupted: KMS never answered, so nothing is known about the
      // key. Fail this call only; one cancelled request must not latch a CMK for every tenant.
      Thread.currentThread().interrupt();
      return new KmsUnavailableException(
          "KMS call for key " + s.arn + " abandoned: the thread was interrupted", cause);
    }
    if (decrypt && aboutTheCiphertext(e, s.arn)) {
      Boolean ok = ciphertextProbe(s);
      KeyState.Latch l = s.latch;
      if (l != null) {
        return s.revoked(l);
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
              + timeout,
          cause);
    }
    if (decrypt || r.isCustomerAction() || r == RevocationReason.BAD_RESPONSE) {
      latch(s, r, cause, e.errorCode());
      return new KeyRevokedException(s.arn, r, cause);
    }
    return new KmsUnavailableException(
        "KMS unavailable for key " + s.arn + " (" + e.errorCode() + ")", cause);
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
    KeyState.Latch l = s.latch;
    return l != null ? s.revoked(l) : new KeyRevokedException(s.arn, e.reason(), e.getCause());
  }

  /**
   * The outcome of the probe that decides whether a failure about one ciphertext is about the key
   * (see the rules at the top): joins the key's latest per-ciphertext probe if it started less than
   * {@link #CIPHERTEXT_PROBE_SPACING_NANOS} ago (running or finished), else starts one (a probe
   * that starts after this call, joined with any probe in flight). {@code null} if no answer came
   * within the wait bound.
   */
  private Boolean ciphertextProbe(KeyState s) {
    long deadline = System.nanoTime() + waitNanos;
    for (; ; ) {
      KeyState.CiphertextProbe last = s.ciphertextProbe.get();
      long now = ticker.read();
      if (last != null && now - last.startNanos() < CIPHERTEXT_PROBE_SPACING_NANOS) {
        return await(last.outcome(), deadline);
      }
      if (Thread.currentThread().isInterrupted()) {
        return null; // never owns the shared outcome (see awaitProbe)
      }
      KeyState.CiphertextProbe mine = new KeyState.CiphertextProbe(now, new CompletableFuture<>());
      if (s.ciphertextProbe.compareAndSet(last, mine)) {
        Boolean ok = null;
        try {
          ok = awaitProbe(s, marks.incrementAndGet());
        } finally {
          mine.outcome().complete(ok);
        }
        return ok;
      }
    }
  }

  /**
   * Whether a failed data-key {@code Decrypt} (or {@code ReEncrypt}) under {@code keyArn} may be
   * about that one ciphertext rather than the key, so that a probe of the key decides: a
   * per-ciphertext error, or a customer-action error ({@code NotFoundException}, {@code
   * DisabledException}, ...) whose message does not name {@code keyArn}. KMS names the key it
   * refused; an encrypted data key altered to name another key (a deleted one, say) gets that other
   * key's error, which must not latch this one. The probe (a Decrypt under this key) latches it if
   * it is in fact revoked.
   */
  public static boolean aboutTheCiphertext(KmsCallException e, String keyArn) {
    if (isPerCiphertext(e.reason())) {
      return true;
    }
    return e.reason().isCustomerAction() && !e.kmsMessageNames(keyArn);
  }

  /** Whether {@code r} is a failure about one ciphertext, not about the key. */
  public static boolean isPerCiphertext(RevocationReason r) {
    return r == RevocationReason.INVALID_CIPHERTEXT || r == RevocationReason.INCORRECT_KEY;
  }

  /**
   * Latches {@code s}: a new epoch, a new latch (a latch that has seen a customer action keeps
   * needing to settle), the cached data keys of the CMK purged on the first latch, and a REVOKED
   * event then.
   */
  void latch(KeyState s, RevocationReason reason, Throwable cause, String code) {
    latch(s, reason, cause, code, true);
    if (coordinator != null) {
      tell(() -> coordinator.latched(s.arn, reason, code));
    }
  }

  /**
   * As above; {@code local} is whether a KMS call of this worker set it ({@code false}: the fleet).
   * A latch once set locally stays local until lifted.
   */
  private void latch(
      KeyState s, RevocationReason reason, Throwable cause, String code, boolean local) {
    boolean first;
    synchronized (s) {
      KeyState.Latch old = s.latch;
      first = old == null;
      boolean keepOld = old != null && old.settles && !reason.isCustomerAction();
      boolean isLocal = local || (old != null && old.local);
      long e = s.epoch + 1;
      KeyState.Latch now =
          keepOld
              ? new KeyState.Latch(old.reason, old.cause, old.errorCode, e, true, isLocal)
              : new KeyState.Latch(reason, cause, code, e, reason.isCustomerAction(), isLocal);
      s.epoch = e;
      s.latch = now;
      if (first) {
        s.pending.add(
            new RevocationEvent(
                s.arn, RevocationEvent.Kind.REVOKED, now.reason, clock.instant(), now.errorCode));
      }
    }
    if (first) {
      // Loads in flight see the new epoch and discard what they get; entries they insert after
      // this purge carry the old epoch and are discarded on first touch. While latched no load
      // can succeed, so a re-latch needs no purge.
      purger.purge(s.arn);
    }
    deliver(s);
  }

  /**
   * Delivers the key's pending events in the order of their transitions (one thread at a time per
   * key), with their log line and metric.
   */
  private void deliver(KeyState s) {
    synchronized (s.delivery) {
      for (; ; ) {
        RevocationEvent e;
        synchronized (s) {
          e = s.pending.poll();
        }
        if (e == null) {
          return;
        }
        if (e.kind() == RevocationEvent.Kind.REVOKED) {
          LOG.warn("KMS key {} latched as revoked: {} ({})", s.arn, e.reason(), e.errorCode());
          metrics.revoked(e.reason());
        } else {
          LOG.info("KMS key {} restored by a successful probe", s.arn);
          metrics.restored();
        }
        fire(e);
      }
    }
  }

  /**
   * Runs a probe of {@code s} that starts after this call (waiting out one already in flight, which
   * may have started before a change the caller wants to see) and returns whether KMS decrypted the
   * canary. Bounded by the probe timeout ({@code false} if it does not finish).
   */
  public boolean probeFresh(KeyState s) {
    checkOpen();
    Boolean ok = awaitProbe(s, marks.incrementAndGet());
    return ok != null && ok;
  }

  /**
   * The outcome of a probe of {@code s} that started after mark {@code after}: joins one in flight
   * if it is new enough, else waits it out and runs one on this thread. {@code null} if no answer
   * came within the wait bound.
   */
  Boolean awaitProbe(KeyState s, long after) {
    long deadline = System.nanoTime() + waitNanos;
    for (; ; ) {
      KeyState.Probe p = s.probeInFlight.get();
      if (p == null) {
        if (Thread.currentThread().isInterrupted()) {
          // An interrupted thread's probe would be aborted by the SDK without asking KMS, and its
          // "false" would be shared with every thread that joins it: it joins, never starts one.
          return null;
        }
        KeyState.Probe mine =
            new KeyState.Probe(new CompletableFuture<>(), marks.incrementAndGet());
        if (s.probeInFlight.compareAndSet(null, mine)) {
          if (budget != null) {
            budget.charge(s.canary == null ? 2 : 1, ticker.read());
          }
          return runProbe(s, mine);
        }
        continue;
      }
      Boolean r = await(p.outcome(), deadline);
      if (r == null || p.mark() > after) {
        return r;
      }
    }
  }

  private static Boolean await(CompletableFuture<Boolean> f, long deadline) {
    long left = deadline - System.nanoTime();
    try {
      return left <= 0 ? f.getNow(null) : f.get(left, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException e) {
      return Boolean.FALSE;
    }
  }

  /** A scheduled probe: runs unless a probe of the key is already in flight. */
  private void backgroundProbe(KeyState s) {
    KeyState.Probe mine = new KeyState.Probe(new CompletableFuture<>(), marks.incrementAndGet());
    if (s.probeInFlight.compareAndSet(null, mine)) {
      runProbe(s, mine);
    }
  }

  private boolean runProbe(KeyState s, KeyState.Probe p) {
    boolean ok = false;
    try {
      ok = probeOnce(s);
    } catch (Throwable t) { // anything unexpected is a failed probe: fail closed
      if (!closed) {
        LOG.error("probe of {} failed unexpectedly", s.arn, t);
        try {
          latch(s, RevocationReason.OTHER, t, t.getClass().getSimpleName());
        } catch (Throwable again) {
          LOG.error("latching {} failed", s.arn, again);
        }
      }
    } finally {
      s.probeInFlight.compareAndSet(p, null);
      p.outcome().complete(ok);
    }
    return ok;
  }

  private boolean probeOnce(KeyState s) {
    long epoch = s.epoch; // before any KMS call: a latch from now on is newer than this probe
    long t0 = ticker.read();
    Map<String, String> ctx = canaryContext(s);
    for (int attempt = 0; ; attempt++) {
      KeyState.Canary c = s.canary;
      boolean fresh = c == null;
      try {
        if (fresh) {
          byte[] pt = new byte[32];
          FrameCipher.randomBytes(pt, 0, pt.length);
          c = new KeyState.Canary(kms.encrypt(s.tenant, s.arn, pt, ctx, "canary", timeout), pt);
        }
        byte[] got =
            kms.decrypt(
                s.tenant, s.arn, c.ciphertext(), ctx, c.plaintext().length, "probe", timeout);
        boolean same = MessageDigest.isEqual(got, c.plaintext());
        KmsGateway.wipe(got);
        long rtt = ticker.read() - t0;
        if (!same) {
          metrics.probe(false, Duration.ofNanos(rtt));
          latch(s, RevocationReason.BAD_RESPONSE, null, "CanaryMismatch");
          return false;
        }
        if (fresh) {
          s.canary = c;
        }
        rttNanos = (rttNanos * 7 + rtt / (fresh ? 2 : 1)) / 8;
        metrics.probe(true, Duration.ofNanos(rtt));
        probeSucceeded(s, epoch, t0);
        return true;
      } catch (KmsCallException e) {
        if (closed || e.interrupted()) {
          // Interrupted (by close(), or a request thread's own interrupt): KMS never answered,
          // so this says nothing about the key. The probe failed; nothing is latched.
          if (e.interrupted() && !closed) {
            Thread.currentThread().interrupt();
          }
          return false;
        }
        if (attempt == 0 && !fresh && isPerCiphertext(e.reason())) {
          // The canary itself may be what KMS refuses (not the key): re-create it once, then
          // decide on the fresh one.
          s.canary = null;
          continue;
        }
        metrics.probe(false, Duration.ofNanos(ticker.read() - t0));
        latch(s, e.reason(), e.getCause() != null ? e.getCause() : e, e.errorCode());
        return false;
      }
    }
  }

  /** A probe that started at {@code start} in {@code epoch} succeeded. */
  private void probeSucceeded(KeyState s, long epoch, long start) {
    long now = ticker.read();
    synchronized (s) {
      if (s.epoch != epoch) {
        return; // a latch was set while this probe ran: its answer predates it, lift nothing
      }
      KeyState.Latch l = s.latch;
      if (l == null) {
        s.lastAliveNanos = now;
        if (coordinator != null) {
          Duration since = Duration.ofNanos(Math.max(0, now - start));
          tell(() -> coordinator.probeSucceeded(s.arn, since));
        }
        return;
      }
      if (l.settles) {
        // The span runs from the first success's answer (not its start: a probe retried by the
        // SDK may have started long before KMS answered) to the start of the latest probe.
        if (l.successes == 0) {
          l.firstSuccessAt = now;
        }
        l.successes++;
        long span = l.successes == 1 ? 0 : start - l.firstSuccessAt;
        if (l.successes < settleProbes || span < settleNanos) {
          if (probing) {
            s.nextProbeNanos = l.firstSuccessAt + l.successes * settleSpacingNanos;
          }
          return;
        }
      }
      s.latch = null;
      s.lastAliveNanos = now;
      s.pending.add(
          new RevocationEvent(s.arn, RevocationEvent.Kind.RESTORED, null, clock.instant(), null));
    }
    if (coordinator != null) {
      tell(() -> coordinator.restored(s.arn));
    }
    deliver(s);
  }

  private static Map<String, String> canaryContext(KeyState s) {
    return s.tenant == null
        ? Map.of("panops:purpose", "liveness-probe")
        : Map.of("panops:purpose", "liveness-probe", "panops:tenant", s.tenant);
  }

  /**
   * The scheduler: every {@code interval / 50} (10..100 ms) starts the probes that are due. Each
   * key is probed once per interval on its own phase, so probes spread across the interval.
   */
  void scan() {
    try {
      long now = ticker.read();
      int live = 0;
      List<Due> waiting = null;
      for (KeyState s : states.values()) {
        if (now - s.lastUsedNanos > idleNanos) {
          if (s.active) {
            s.active = false;
            purger.purge(s.arn);
          }
          continue;
        }
        if (!s.active && s.latch == null) {
          continue;
        }
        live++;
        if (coordinator != null) {
          tell(() -> coordinator.interested(s.arn));
        }
        long due = s.nextProbeNanos;
        if (due == 0) {
          s.nextProbeNanos = now + ThreadLocalRandom.current().nextLong(intervalNanos);
          continue;
        }
        if (now - due >= 0) {
          // A probe starts within one scan period after it is due; due again one interval minus
          // one scan period after that start, so that two probes of a key never start more than
          // one interval apart (their average period is a little shorter).
          if (s.probeInFlight.get() != null || !probesHere(s, now)) {
            s.nextProbeNanos = now + intervalNanos - scanNanos;
            s.waitingForBudget = false;
          } else if (budget == null) {
            s.nextProbeNanos = now + intervalNanos - scanNanos;
            pool.execute(() -> backgroundProbe(s));
          } else {
            if (waiting == null) {
              waiting = new ArrayList<>();
            }
            waiting.add(new Due(s, due));
          }
        }
      }
      if (waiting != null) {
        startWithinBudget(waiting, now);
      }
      resize(live);
    } catch (RejectedExecutionException e) {
      // closed
    } catch (Throwable t) {
      LOG.error("probe scheduler failed", t);
    }
  }

  /** A due probe and its due time (read once: the sort must not see it change). */
  private record Due(KeyState state, long due) {}

  /**
   * Starts the due probes the budget allows, in order of their due time; the others stay due (so
   * they come first at the next pass) and are counted once per wait.
   */
  private void startWithinBudget(List<Due> due, long now) {
    due.sort((a, b) -> Long.compare(a.due() - now, b.due() - now));
    int left = 0;
    boolean empty = false;
    for (Due d : due) {
      KeyState s = d.state();
      if (!empty && budget.tryTake(s.canary == null ? 2 : 1, now)) {
        s.nextProbeNanos = now + intervalNanos - scanNanos;
        s.waitingForBudget = false;
        pool.execute(() -> backgroundProbe(s));
        continue;
      }
      empty = true; // strictly in order: a cheaper probe behind does not overtake
      left++;
      if (!s.waitingForBudget) {
        s.waitingForBudget = true;
        deferrals.incrementAndGet();
        metrics.probeDeferred();
      }
    }
    if (left > 0 && now - lastBudgetWarning >= intervalNanos) {
      lastBudgetWarning = now;
      LOG.warn(
          "probe budget of {} KMS requests/s exhausted: {} due probes wait; a key whose proof of"
              + " life is two probe intervals old is probed on the request thread",
          budgetPerSecond,
          left);
    }
  }

  /** Scheduled probes that had to wait for the budget so far (once per key per wait). */
  public long probesDeferred() {
    return deferrals.get();
  }

  /** Whether every probe handed to the pool has finished (for tests). */
  boolean probePoolIdleForTests() {
    return pool == null || pool.getCompletedTaskCount() == pool.getTaskCount();
  }

  /** Stops the background scheduler only (tests drive {@link #scan} and the decisions). */
  void stopSchedulerForTests() {
    if (scanner != null) {
      scanner.shutdownNow();
    }
  }

  /** Whether this worker runs the scheduled probe of {@code s} (see "Fleet coordination" above). */
  boolean probesHere(KeyState s, long now) {
    if (coordinator == null) {
      return true;
    }
    KeyState.Latch l = s.latch;
    if (l != null && l.local) {
      return true;
    }
    boolean assigned;
    try {
      assigned = coordinator.assigned(s.arn);
    } catch (Throwable t) {
      GuardedMetrics.swallow(t, "probe coordinator");
      assigned = true; // fail safe: probe locally
    }
    if (assigned) {
      return true;
    }
    return l == null && now - s.lastAliveNanos > fallbackNanos;
  }

  /** Calls the coordinator, ignoring anything it throws (it can only spare or add strictness). */
  private static void tell(Runnable call) {
    try {
      call.run();
    } catch (Throwable t) {
      GuardedMetrics.swallow(t, "probe coordinator");
    }
  }

  /** The engine's side of the coordinator: see the rules in {@link ProbeCoordinator}. */
  private final class FleetSide implements ProbeCoordinator.Fleet {
    @Override
    public Duration probeInterval() {
      return Duration.ofNanos(intervalNanos);
    }

    @Override
    public void provenAlive(String keyArn, Duration age) {
      KeyState s = states.get(keyArn);
      if (s == null || closed || age.isNegative()) {
        return;
      }
      long at = ticker.read() - age.toNanos();
      synchronized (s) {
        if (s.latch == null && at - s.lastAliveNanos > 0) {
          s.lastAliveNanos = at;
        }
      }
    }

    @Override
    public void revoked(String keyArn, RevocationReason reason, String errorCode) {
      KeyState s = states.get(keyArn);
      if (s == null || closed) {
        return;
      }
      latch(
          s,
          reason,
          new KmsUnavailableException("KMS key " + keyArn + " latched by the fleet", null),
          errorCode,
          false);
    }

    @Override
    public void restored(String keyArn) {
      KeyState s = states.get(keyArn);
      if (s == null || closed) {
        return;
      }
      synchronized (s) {
        KeyState.Latch l = s.latch;
        if (l == null || l.local) {
          return; // only a fleet latch lifts by the fleet's word
        }
        s.latch = null;
        s.lastAliveNanos = ticker.read();
        s.pending.add(
            new RevocationEvent(s.arn, RevocationEvent.Kind.RESTORED, null, clock.instant(), null));
      }
      deliver(s);
    }
  }

  /** Sizes the pool to about twice the threads the measured round trip keeps busy. */
  private void resize(int liveKeys) {
    double busy = (double) liveKeys * rttNanos / intervalNanos;
    int target = (int) Math.min(maxThreads, Math.max(1, Math.ceil(2 * busy) + 1));
    int current = pool.getMaximumPoolSize();
    if (target > current) {
      pool.setMaximumPoolSize(target);
      pool.setCorePoolSize(target);
    } else if (target < current) {
      pool.setCorePoolSize(target);
      pool.setMaximumPoolSize(target);
    }
  }

  /** The probe pool's current size limit (for tests and the benchmark). */
  public int probeThreads() {
    return pool == null ? 0 : pool.getMaximumPoolSize();
  }

  private void fire(RevocationEvent e) {
    for (RevocationListener l : listeners) {
      try {
        l.onEvent(e);
      } catch (Throwable ex) {
        GuardedMetrics.swallow(ex, "revocation listener");
      }
    }
  }

  /** Stops the scheduler and the probes; every later use fails. */
  @Override
  public void close() {
    closed = true;
    if (scanner != null) {
      scanner.shutdownNow();
      pool.shutdownNow();
    }
    if (coordinator != null) {
      tell(coordinator::close);
    }
  }
}
