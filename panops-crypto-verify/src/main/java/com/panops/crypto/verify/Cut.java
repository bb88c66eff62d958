package com.panops.crypto.verify;

import java.time.Duration;
import java.time.Instant;

/**
 * One time the customer cut a principal off a key, and what the principal's calls did after it.
 * Filled in as records arrive in event-time order.
 */
final class Cut {
  final Instant at;
  final String by;
  Instant lastSuccessAfter;
  Instant firstRefused;
  String firstRefusedErrorCode;
  Instant restoredAt;
  String restoredBy;
  Instant firstSuccessAfterRestore;

  Cut(Instant at, String by) {
    this.at = at;
    this.by = by;
  }

  boolean open() {
    return restoredAt == null;
  }

  /** From the cut to the last successful call after it; zero if there was none. */
  Duration timeToDark() {
    return lastSuccessAfter == null ? Duration.ZERO : Duration.between(at, lastSuccessAfter);
  }

  /** From the cut to the first refused call after it; null if none was refused. */
  Duration timeToFirstRefusal() {
    return firstRefused == null ? null : Duration.between(at, firstRefused);
  }
}
