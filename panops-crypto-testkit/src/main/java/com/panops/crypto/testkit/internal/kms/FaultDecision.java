package com.panops.crypto.testkit.internal.kms;

import java.time.Duration;

/**
 * What the fault plan says about one request: an added delay, then maybe a failure, before the
 * operation; then, after the operation has been done and recorded, maybe a delay and a lost
 * response.
 *
 * @param delay added before the operation
 * @param action the failure instead of the operation, if any
 * @param delayAfterCommit added after the operation, before the answer is written
 * @param loseResponse close the connection without an answer after the operation
 */
public record FaultDecision(
    Duration delay, Action action, Duration delayAfterCommit, boolean loseResponse) {

  /** The failure to inject after the delay, weakest first (a stronger one wins). */
  public enum Action {
    NONE,
    THROTTLE,
    DEPENDENCY_TIMEOUT,
    KEY_UNAVAILABLE,
    INTERNAL_ERROR,
    DROP_CONNECTION
  }

  public FaultDecision(Duration delay, Action action) {
    this(delay, action, Duration.ZERO, false);
  }

  public static final FaultDecision NONE = new FaultDecision(Duration.ZERO, Action.NONE);

  /** Whether anything happens after the operation. */
  public boolean afterCommit() {
    return loseResponse || (delayAfterCommit != null && !delayAfterCommit.isZero());
  }
}
