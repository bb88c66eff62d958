package com.panops.crypto.revocation;

import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationListener;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.observe.GuardedMetrics;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers revocation events: each key's queued events in the order of their transitions, one
 * thread at a time per key, each with its log line and metric. A listener that throws is counted
 * and ignored; it cannot stop the others or the kill switch.
 */
final class EventDispatch {
  private static final Logger LOG = LoggerFactory.getLogger(Revocations.class);

  private final List<RevocationListener> listeners;
  private final CryptoMetrics metrics;

  EventDispatch(List<RevocationListener> listeners, CryptoMetrics metrics) {
    this.listeners = List.copyOf(listeners);
    this.metrics = metrics;
  }

  /** Delivers every event {@code s} has queued, in order. */
  void deliver(KeyState s) {
    synchronized (s.delivery) {
      for (RevocationEvent e = s.nextPending(); e != null; e = s.nextPending()) {
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

  private void fire(RevocationEvent e) {
    for (RevocationListener l : listeners) {
      try {
        l.onEvent(e);
      } catch (Throwable ex) {
        GuardedMetrics.swallow(ex, "revocation listener");
      }
    }
  }
}
