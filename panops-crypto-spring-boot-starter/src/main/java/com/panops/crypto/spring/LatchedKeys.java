package com.panops.crypto.spring;

import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationListener;
import com.panops.crypto.RevocationReason;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The CMKs latched as revoked right now, with why and since when, followed from the library's
 * {@link RevocationEvent}s (which arrive in transition order): the library has no public list of
 * latched keys, only {@code PanopsCrypto.isRevoked(arn)}. Thread-safe.
 */
public final class LatchedKeys implements RevocationListener {

  /** One latched CMK. */
  public record Latched(String keyArn, RevocationReason reason, Instant since, String errorCode) {}

  private final ConcurrentHashMap<String, Latched> latched = new ConcurrentHashMap<>();

  @Override
  public void onEvent(RevocationEvent e) {
    if (e.kind() == RevocationEvent.Kind.REVOKED) {
      latched.put(e.keyArn(), new Latched(e.keyArn(), e.reason(), e.time(), e.errorCode()));
    } else {
      latched.remove(e.keyArn());
    }
  }

  /** The latched keys, ordered by ARN; a snapshot. */
  public List<Latched> snapshot() {
    return latched.values().stream().sorted(Comparator.comparing(Latched::keyArn)).toList();
  }
}
