package com.panops.crypto.revocation;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.format.FrameCipher;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.kms.KmsGateway;
import com.panops.crypto.metrics.CryptoMetrics;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Liveness probes. A probe Encrypts a random canary under the key once (purpose "liveness-probe" in
 * the encryption context, so the customer's CloudTrail tells probes from data access) and Decrypts
 * it, naming the key. At most one probe per key is in flight; a caller that needs a probe joins the
 * one in flight if it started late enough, else runs one on its own thread (it never queues behind
 * other keys' probes). Every KMS call and every wait is bounded by the probe timeout; anything
 * unexpected in a probe is a failed probe and latches (fail closed). An interrupted thread never
 * starts a probe: the SDK would abort its calls without asking KMS, and its "false" would be shared
 * with every thread that joins it.
 */
final class Prober {
  private static final Logger LOG = LoggerFactory.getLogger(Revocations.class);
  private static final long INITIAL_RTT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /** At most one per-ciphertext probe per key per this (see {@link #ciphertextProbe}). */
  static final long CIPHERTEXT_PROBE_SPACING_NANOS = TimeUnit.SECONDS.toNanos(1);

  /** What the prober reports to the kill switch. */
  interface Outcomes {
    /** A probe failed in a way that latches the key. */
    void latch(KeyState s, RevocationReason reason, Throwable cause, String code);

    /** A probe that started at {@code start} in {@code epoch} succeeded. */
    void succeeded(KeyState s, long epoch, long start);

    boolean closed();
  }

  private final KmsGateway kms;
  private final Outcomes outcomes;
  private final CryptoMetrics metrics;
  private final Ticker ticker;
  private final ProbeTiming timing;
  private final ProbeBudget budget;
  private final AtomicLong marks = new AtomicLong();
  private volatile long rttNanos = INITIAL_RTT_NANOS;

  Prober(
      KmsGateway kms,
      Outcomes outcomes,
      CryptoMetrics metrics,
      Ticker ticker,
      ProbeTiming timing,
      ProbeBudget budget) {
    this.kms = kms;
    this.outcomes = outcomes;
    this.metrics = metrics;
    this.ticker = ticker;
    this.timing = timing;
    this.budget = budget;
  }

  /** A new mark: probes started after this call have a higher one. */
  long mark() {
    return marks.incrementAndGet();
  }

  /** The measured KMS round trip of a probe's Decrypt (a moving average). */
  long rttNanos() {
    return rttNanos;
  }

  /**
   * The outcome of a probe of {@code s} that started after mark {@code after}: joins one in flight
   * if it is new enough, else waits it out and runs one on this thread. {@code null} if no answer
   * came within the wait bound.
   */
  Boolean awaitProbe(KeyState s, long after) {
    long deadline = System.nanoTime() + timing.waitNanos();
    for (; ; ) {
      KeyState.Probe p = s.probeInFlight.get();
      if (p == null) {
        if (Thread.currentThread().isInterrupted()) {
          return null; // joins, never starts one (see the class comment)
        }
        KeyState.Probe mine = new KeyState.Probe(new CompletableFuture<>(), mark());
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

  /**
   * The outcome of the probe that decides whether a failure about one ciphertext is about the key:
   * joins the key's latest per-ciphertext probe if it started less than {@link
   * #CIPHERTEXT_PROBE_SPACING_NANOS} ago (running or finished), else starts one (a probe that
   * starts after this call, joined with any probe in flight). So a flood of bad rows costs one
   * probe a second per key, not one per row. {@code null} if no answer came within the wait bound.
   */
  Boolean ciphertextProbe(KeyState s) {
    long deadline = System.nanoTime() + timing.waitNanos();
    for (; ; ) {
      KeyState.CiphertextProbe last = s.ciphertextProbe.get();
      long now = ticker.read();
      if (last != null && now - last.startNanos() < CIPHERTEXT_PROBE_SPACING_NANOS) {
        return await(last.outcome(), deadline);
      }
      if (Thread.currentThread().isInterrupted()) {
        return null; // never owns the shared outcome
      }
      KeyState.CiphertextProbe mine = new KeyState.CiphertextProbe(now, new CompletableFuture<>());
      if (s.ciphertextProbe.compareAndSet(last, mine)) {
        Boolean ok = null;
        try {
          ok = awaitProbe(s, mark());
        } finally {
          mine.outcome().complete(ok);
        }
        return ok;
      }
    }
  }

  /** A scheduled probe: runs unless a probe of the key is already in flight. */
  void backgroundProbe(KeyState s) {
    KeyState.Probe mine = new KeyState.Probe(new CompletableFuture<>(), mark());
    if (s.probeInFlight.compareAndSet(null, mine)) {
      runProbe(s, mine);
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

  private boolean runProbe(KeyState s, KeyState.Probe p) {
    boolean ok = false;
    try {
      ok = probeOnce(s);
    } catch (Throwable t) { // anything unexpected is a failed probe: fail closed
      if (!outcomes.closed()) {
        LOG.error("probe of {} failed unexpectedly", s.arn, t);
        try {
          outcomes.latch(s, RevocationReason.OTHER, t, t.getClass().getSimpleName());
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
    long epoch = s.epoch(); // before any KMS call: a latch from now on is newer than this probe
    long t0 = ticker.read();
    Map<String, String> ctx = canaryContext(s);
    for (int attempt = 0; ; attempt++) {
      KeyState.Canary c = s.canary;
      boolean fresh = c == null;
      try {
        if (fresh) {
          byte[] pt = new byte[32];
          FrameCipher.randomBytes(pt, 0, pt.length);
          c = new KeyState.Canary(kms.encrypt(s.tenant, s.arn, pt, ctx, "canary", timeout()), pt);
        }
        return checkAnswer(s, c, fresh, ctx, epoch, t0);
      } catch (KmsCallException e) {
        if (outcomes.closed() || e.interrupted()) {
          // KMS never answered (close(), or the thread's own interrupt): the probe failed and
          // says nothing about the key, so nothing is latched.
          if (e.interrupted() && !outcomes.closed()) {
            Thread.currentThread().interrupt();
          }
          return false;
        }
        if (attempt == 0 && !fresh && FailureRules.isPerCiphertext(e.reason())) {
          // The canary itself may be what KMS refuses (not the key): re-create it once, then
          // decide on the fresh one.
          s.canary = null;
          continue;
        }
        metrics.probe(false, Duration.ofNanos(ticker.read() - t0));
        outcomes.latch(s, e.reason(), e.getCause() != null ? e.getCause() : e, e.errorCode());
        return false;
      }
    }
  }

  /** Decrypts the canary; a wrong plaintext latches ({@code BAD_RESPONSE}). */
  private boolean checkAnswer(
      KeyState s, KeyState.Canary c, boolean fresh, Map<String, String> ctx, long epoch, long t0) {
    byte[] got =
        kms.decrypt(s.tenant, s.arn, c.ciphertext(), ctx, c.plaintext().length, "probe", timeout());
    boolean same = MessageDigest.isEqual(got, c.plaintext());
    KmsGateway.wipe(got);
    long rtt = ticker.read() - t0;
    if (!same) {
      metrics.probe(false, Duration.ofNanos(rtt));
      outcomes.latch(s, RevocationReason.BAD_RESPONSE, null, "CanaryMismatch");
      return false;
    }
    if (fresh) {
      s.canary = c;
    }
    rttNanos = (rttNanos * 7 + rtt / (fresh ? 2 : 1)) / 8;
    metrics.probe(true, Duration.ofNanos(rtt));
    outcomes.succeeded(s, epoch, t0);
    return true;
  }

  private Duration timeout() {
    return timing.timeout();
  }

  private static Map<String, String> canaryContext(KeyState s) {
    return s.tenant == null
        ? Map.of("panops:purpose", "liveness-probe")
        : Map.of("panops:purpose", "liveness-probe", "panops:tenant", s.tenant);
  }
}
