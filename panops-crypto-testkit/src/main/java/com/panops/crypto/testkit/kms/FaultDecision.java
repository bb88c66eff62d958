package com.panops.crypto.testkit.kms;

import java.time.Duration;

/** What the fault plan says about one request: an added delay, then maybe a failure. */
public record FaultDecision(Duration delay, Action action) {

  /** The failure to inject after the delay, weakest first (a stronger one wins). */
  public enum Action {
    NONE,
    THROTTLE,
    DEPENDENCY_TIMEOUT,
    KEY_UNAVAILABLE,
    INTERNAL_ERROR,
    DROP_CONNECTION
  }

  public static final FaultDecision NONE = new FaultDecision(Duration.ZERO, Action.NONE);
}
