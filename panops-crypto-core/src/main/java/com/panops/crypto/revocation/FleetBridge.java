package com.panops.crypto.revocation;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.ProbeCoordinator;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.observe.GuardedMetrics;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

/**
 * The bridge to a fleet {@link ProbeCoordinator} (or to none: every method is then a no-op and
 * every key is probed here).
 *
 * <p>With a coordinator, the scheduler probes a key only if (a) it holds a latch set by this
 * worker's own KMS call (only this worker's probe may lift it), or (b) the coordinator assigns the
 * key to this worker (every key while it is unhealthy), or (c) the key is unlatched and was not
 * proven alive for 1.75 intervals (attestations stopped: fall back to local probes). Fleet
 * attestations only move the proof of life forward and are ignored while latched; fleet revocations
 * latch as a local failure would but not locally; a fleet restore lifts only a latch no local call
 * set ({@link KeyState#liftByFleet}). The request thread's two-interval check is unchanged, so
 * nothing is served without a proof of life at most two intervals old. Whatever the coordinator
 * throws is counted and ignored: it can only spare work or add strictness.
 *
 * @param coordinator the fleet's coordinator, or null for none
 * @param states the key states, by CMK ARN
 */
record FleetBridge(
    ProbeCoordinator coordinator,
    Map<String, KeyState> states,
    Ticker ticker,
    Clock clock,
    ProbeTiming timing,
    EventDispatch events) {
  /** Latches a key on the fleet's word. */
  interface FleetLatch {
    void latch(KeyState s, RevocationReason reason, Throwable cause, String code);
  }

  /** Starts the coordinator, if any, with this worker's side of it. */
  void start(FleetLatch latch, java.util.function.BooleanSupplier closed) {
    if (coordinator != null) {
      coordinator.start(new Side(latch, closed));
    }
  }

  /** Whether this worker runs the scheduled probe of {@code s} (see the class comment). */
  boolean probesHere(KeyState s, long now) {
    if (coordinator == null) {
      return true;
    }
    KeyState.Latch l = s.latch();
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
    return l == null && now - s.lastAliveNanos > timing.fallbackNanos();
  }

  void interested(KeyState s) {
    if (coordinator != null) {
      tell(() -> coordinator.interested(s.arn));
    }
  }

  void latched(KeyState s, RevocationReason reason, String code) {
    if (coordinator != null) {
      tell(() -> coordinator.latched(s.arn, reason, code));
    }
  }

  /** A local probe proved {@code s} alive, having started {@code since} ago. */
  void probeSucceeded(KeyState s, Duration since) {
    if (coordinator != null) {
      tell(() -> coordinator.probeSucceeded(s.arn, since));
    }
  }

  void restored(KeyState s) {
    if (coordinator != null) {
      tell(() -> coordinator.restored(s.arn));
    }
  }

  void close() {
    if (coordinator != null) {
      tell(coordinator::close);
    }
  }

  private static void tell(Runnable call) {
    try {
      call.run();
    } catch (Throwable t) {
      GuardedMetrics.swallow(t, "probe coordinator");
    }
  }

  /** The engine's side of the coordinator: see the rules in {@link ProbeCoordinator}. */
  private final class Side implements ProbeCoordinator.Fleet {
    private final FleetLatch latch;
    private final java.util.function.BooleanSupplier closed;

    Side(FleetLatch latch, java.util.function.BooleanSupplier closed) {
      this.latch = latch;
      this.closed = closed;
    }

    @Override
    public Duration probeInterval() {
      return Duration.ofNanos(timing.intervalNanos());
    }

    @Override
    public void provenAlive(String keyArn, Duration age) {
      KeyState s = states.get(keyArn);
      if (s == null || closed.getAsBoolean() || age.isNegative()) {
        return;
      }
      s.provenAliveByFleet(ticker.read() - age.toNanos());
    }

    @Override
    public void revoked(String keyArn, RevocationReason reason, String errorCode) {
      KeyState s = states.get(keyArn);
      if (s == null || closed.getAsBoolean()) {
        return;
      }
      latch.latch(
          s,
          reason,
          new KmsUnavailableException("KMS key " + keyArn + " latched by the fleet", null),
          errorCode);
    }

    @Override
    public void restored(String keyArn) {
      KeyState s = states.get(keyArn);
      if (s == null || closed.getAsBoolean()) {
        return;
      }
      if (s.liftByFleet(ticker.read(), clock)) {
        events.deliver(s);
      }
    }
  }
}
