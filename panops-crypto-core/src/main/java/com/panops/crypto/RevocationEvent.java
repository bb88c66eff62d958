package com.panops.crypto;

import java.time.Instant;

/**
 * A customer master key was latched as revoked, or its latch was lifted.
 *
 * @param keyArn the CMK
 * @param kind {@link Kind#REVOKED} or {@link Kind#RESTORED}
 * @param reason why it was latched ({@code null} for {@link Kind#RESTORED})
 * @param time when the library observed it
 * @param errorCode KMS's error code for a revocation, or {@code null}
 */
public record RevocationEvent(
    String keyArn, Kind kind, RevocationReason reason, Instant time, String errorCode) {

  /** What happened. */
  public enum Kind {
    REVOKED,
    RESTORED
  }
}
