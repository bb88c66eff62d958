package com.panops.crypto.revocation;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationListener;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.format.FrameCipher;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.kms.KmsGateway;
import com.panops.crypto.metrics.CryptoMetrics;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * The kill switch.
 *
 * Every customer master key (CMK) the library touches has a KeyState. A set latch makes every
 * encryption and decryption under the key fail fast (KeyState.checkNotRevoked, one volatile read),
 * without calling KMS and without touching the cache. The latch is set by:
 *   - any failed KMS Decrypt under the key (any reason, after the SDK's retries),
 *   - a GenerateDataKey/Encrypt failure of the customer-action kind (disabled, pending deletion,
 *     access denied, not found),
 *   - a failed liveness probe.
 * Setting it purges (and wipes) every cached data key of the CMK on both sides.
 *
 * Only a successful probe lifts a latch. A probe Encrypts a 32-byte random canary under the key
 * once (purpose "liveness-probe" in the encryption context, so the customer's CloudTrail tells
 * probes from data access) and then Decrypts it, naming the key, every probe interval, for every
 * key that was used within the idle timeout. Probes are single flight per key and run on one
 * shared scheduler. After a per-ciphertext failure (INVALID_CIPHERTEXT, INCORRECT_KEY) a probe runs
 * at once, so one bad record costs the tenant one KMS round trip, not one interval.
 *
 * A warm cache would otherwise hide a disabled key. The probe bounds that: the customer's action is
 * observed within one interval plus one KMS round trip. As a backstop against a stalled scheduler,
 * a request for a key whose last successful probe (or KMS call) is older than two intervals runs
 * the probe itself and waits for it before anything is served.
 *
 * A key idle for longer than the idle timeout stops being probed and its cached data keys are
 * dropped, so nothing is ever served from cache for a key that is not being probed.
 */
/** The kill switch: latches, liveness probes and revocation events. Internal. */
public final class Revocations implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Revocations.class);

  /** Drops every cached data key of a CMK. */
  @FunctionalInterface
  public interface Purger {
    void purge(String keyArn, boolean wipe);
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
  private final ConcurrentHashMap<String, KeyState> states = new ConcurrentHashMap<>();
  private final ScheduledExecutorService scheduler;
  private volatile boolean closed;

  public Revocations(
      KmsGateway kms,
      Purger purger,
      List<RevocationListener> listeners,
      CryptoMetrics metrics,
      Ticker ticker,
      Clock clock,
      Duration probeInterval,
      Duration idleTimeout,
      int probeThreads) {
    this.kms = kms;
    this.purger = purger;
    this.listeners = List.copyOf(listeners);
    this.metrics = metrics;
    this.ticker = ticker;
    this.clock = clock;
    this.probing = probeInterval != null;
    this.intervalNanos = probing ? probeInterval.toNanos() : Long.MAX_VALUE;
    this.staleNanos = probing ? 2 * intervalNanos : Long.MAX_VALUE;
    this.idleNanos = idleTimeout.toNanos();
    if (probing) {
      AtomicInteger n = new AtomicInteger();
      ScheduledThreadPoolExecutor s =
          new ScheduledThreadPoolExecutor(
              probeThreads,
              r -> {
                Thread t = new Thread(r, "panops-crypto-probe-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
              });
      s.setRemoveOnCancelPolicy(true);
      this.scheduler = s;
      scheduler.scheduleAtFixedRate(this::tick, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
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

  /**
   * The warm-path gate: fails fast if latched; records use; and if the key has not been proven
   * alive for two probe intervals, probes it on this thread before going on.
   */
  public void beforeUse(KeyState s) {
    long now = ticker.read();
    s.touch(now); // before the latch check: a latched key that is still wanted stays probed
    s.checkNotRevoked();
    if (now - s.lastAliveNanos > staleNanos) {
      probe(s).join();
      s.checkNotRevoked();
    }
  }

  /** A KMS call under the key succeeded: it is alive and now holds cached data keys. */
  public void markAlive(KeyState s) {
    s.lastAliveNanos = ticker.read();
    s.active = true;
  }

  /**
   * Handles a failed KMS call under the key and returns the exception to throw. A failed {@code
   * Decrypt} always latches; other operations latch only for customer actions.
   */
  public RuntimeException onFailure(KeyState s, KmsCallException e, boolean decrypt) {
    RevocationReason reason = e.reason();
    if (decrypt || reason.isCustomerAction()) {
      latch(s, reason, e.getCause() != null ? e.getCause() : e, e.errorCode());
      return new com.panops.crypto.KeyRevokedException(s.arn, reason, e.getCause());
    }
    return new com.panops.crypto.KmsUnavailableException(
        "KMS unavailable for key " + s.arn + " (" + e.errorCode() + ")", e.getCause());
  }

  void latch(KeyState s, RevocationReason reason, Throwable cause, String code) {
    KeyState.Latch previous = s.latch;
    s.latch = new KeyState.Latch(reason, cause, code);
    purger.purge(s.arn, true);
    if (previous == null) {
      LOG.warn("KMS key {} latched as revoked: {} ({})", s.arn, reason, code);
      metrics.revoked(reason);
      fire(new RevocationEvent(s.arn, RevocationEvent.Kind.REVOKED, reason, clock.instant(), code));
    }
    if (probing
        && (reason == RevocationReason.INVALID_CIPHERTEXT
            || reason == RevocationReason.INCORRECT_KEY)) {
      probe(s);
    }
  }

  /**
   * Runs a probe of {@code s} that starts after this call (waiting out one already in flight, which
   * may have started before a change the caller wants to see) and returns its outcome.
   */
  public boolean probeFresh(KeyState s) {
    CompletableFuture<Boolean> running = s.probeInFlight.get();
    if (running != null) {
      running.join();
    }
    return probe(s).join();
  }

  /** Runs a probe of {@code s} (single flight) and completes with whether it succeeded. */
  public CompletableFuture<Boolean> probe(KeyState s) {
    CompletableFuture<Boolean> f = new CompletableFuture<>();
    CompletableFuture<Boolean> running = s.probeInFlight.compareAndExchange(null, f);
    if (running != null) {
      return running;
    }
    Runnable task =
        () -> {
          boolean ok = false;
          try {
            ok = runProbe(s);
          } catch (RuntimeException e) {
            LOG.error("probe of {} failed unexpectedly", s.arn, e);
          } finally {
            s.probeInFlight.set(null);
            f.complete(ok);
          }
        };
    if (scheduler != null) {
      try {
        scheduler.execute(task);
      } catch (java.util.concurrent.RejectedExecutionException closed) {
        s.probeInFlight.set(null);
        f.complete(false);
      }
    } else {
      task.run();
    }
    return f;
  }

  private boolean runProbe(KeyState s) {
    long t0 = ticker.read();
    Map<String, String> ctx = canaryContext(s);
    try {
      KeyState.Canary c = s.canary;
      if (c == null) {
        byte[] pt = new byte[32];
        FrameCipher.randomBytes(pt, 0, pt.length);
        byte[] ct = kms.encrypt(s.tenant, s.arn, pt, ctx, "canary");
        c = new KeyState.Canary(ct, pt);
        s.canary = c;
      }
      byte[] got = kms.decrypt(s.tenant, s.arn, c.ciphertext(), ctx, c.plaintext().length, "probe");
      boolean same = MessageDigest.isEqual(got, c.plaintext());
      KmsGateway.wipe(got);
      if (!same) {
        latch(s, RevocationReason.BAD_RESPONSE, null, "CanaryMismatch");
        metrics.probe(false, Duration.ofNanos(ticker.read() - t0));
        return false;
      }
      s.lastAliveNanos = ticker.read();
      metrics.probe(true, Duration.ofNanos(ticker.read() - t0));
      if (s.latch != null) {
        s.latch = null;
        LOG.info("KMS key {} restored by a successful probe", s.arn);
        metrics.restored();
        fire(
            new RevocationEvent(s.arn, RevocationEvent.Kind.RESTORED, null, clock.instant(), null));
      }
      return true;
    } catch (KmsCallException e) {
      if (closed) {
        return false; // interrupted by close(): says nothing about the key
      }
      metrics.probe(false, Duration.ofNanos(ticker.read() - t0));
      latch(s, e.reason(), e.getCause(), e.errorCode());
      return false;
    }
  }

  private static Map<String, String> canaryContext(KeyState s) {
    return s.tenant == null
        ? Map.of("panops:purpose", "liveness-probe")
        : Map.of("panops:purpose", "liveness-probe", "panops:tenant", s.tenant);
  }

  void tick() {
    try {
      long now = ticker.read();
      for (KeyState s : states.values()) {
        if (now - s.lastUsedNanos > idleNanos) {
          if (s.active) {
            s.active = false;
            purger.purge(s.arn, false);
          }
          continue;
        }
        if (s.active || s.latch != null) {
          probe(s);
        }
      }
    } catch (RuntimeException e) {
      LOG.error("probe tick failed", e);
    }
  }

  private void fire(RevocationEvent e) {
    for (RevocationListener l : listeners) {
      try {
        l.onEvent(e);
      } catch (RuntimeException ex) {
        LOG.warn("revocation listener failed: {}", ex.getClass().getName());
      }
    }
  }

  /** Stops the scheduler. */
  @Override
  public void close() {
    closed = true;
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
  }
}
