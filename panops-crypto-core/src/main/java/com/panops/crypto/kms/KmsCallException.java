package com.panops.crypto.kms;

import com.panops.crypto.RevocationReason;

/**
 * A KMS call failed (after the SDK's retries) or its answer did not check out. Internal: the engine
 * turns it into {@code KeyRevokedException} or {@code KmsUnavailableException}.
 */
public final class KmsCallException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final RevocationReason reason;
  private final String errorCode;
  private final boolean interrupted;

  KmsCallException(RevocationReason reason, String errorCode, String message, Throwable cause) {
    this(reason, errorCode, message, cause, false);
  }

  KmsCallException(
      RevocationReason reason,
      String errorCode,
      String message,
      Throwable cause,
      boolean interrupted) {
    super(message, cause);
    this.reason = reason;
    this.errorCode = errorCode;
    this.interrupted = interrupted;
  }

  /**
   * Whether the call was abandoned because the calling thread was interrupted: KMS never answered,
   * so it says nothing about the key (the engine fails the call without latching).
   */
  public boolean interrupted() {
    return interrupted;
  }

  /** Why the call failed, as a revocation reason. */
  public RevocationReason reason() {
    return reason;
  }

  /** KMS's error code, or the client-side exception's class name. */
  public String errorCode() {
    return errorCode;
  }
}
