package com.panops.crypto.kms;

import com.panops.crypto.RevocationReason;

/** Gateway failures for unit tests of the code that handles them. */
public final class KmsCallExceptions {
  private KmsCallExceptions() {}

  /** A failure the gateway reports for a KMS answer of {@code errorCode}. */
  public static KmsCallException of(RevocationReason reason, String errorCode) {
    return new KmsCallException(reason, errorCode, "KMS Decrypt failed: " + errorCode, null);
  }
}
