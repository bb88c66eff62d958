package com.panops.crypto.testkit.internal.kms;

import com.panops.crypto.testkit.LocalKmsException;

/** Acts out a {@link FaultDecision}: before the operation, then after its outcome is recorded. */
final class InjectedFaults {

  private InjectedFaults() {}

  /** The delay, then the failure that answers instead of the operation; nothing if null. */
  static void beforeOperation(FaultDecision d) {
    if (d == null) {
      return;
    }
    if (d.delay() != null && !d.delay().isZero() && !d.delay().isNegative()) {
      try {
        Thread.sleep(d.delay().toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new LocalKmsException("KMSInternalException", 500, "LocalKms is shutting down.");
      }
    }
    switch (d.action()) {
      case THROTTLE:
        throw LocalKmsException.of("ThrottlingException", "Rate exceeded");
      case INTERNAL_ERROR:
        throw new LocalKmsException(
            "KMSInternalException", 500, "The request was rejected because of an internal error.");
      case KEY_UNAVAILABLE:
        throw new LocalKmsException(
            "KeyUnavailableException",
            500,
            "The request was rejected because the specified KMS key was not available. You can"
                + " retry the request.");
      case DEPENDENCY_TIMEOUT:
        throw new LocalKmsException(
            "DependencyTimeoutException",
            500,
            "The system timed out while trying to fulfill the request. You can retry the"
                + " request.");
      case DROP_CONNECTION:
        throw new DropConnectionSignal();
      default:
        break;
    }
  }

  /** The work is done and recorded: answer late, or not at all. */
  static void afterCommit(FaultDecision d) {
    if (d.delayAfterCommit() != null && !d.delayAfterCommit().isZero()) {
      try {
        Thread.sleep(d.delayAfterCommit().toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DropConnectionSignal();
      }
    }
    if (d.loseResponse()) {
      throw new DropConnectionSignal();
    }
  }
}
