package com.panops.crypto;

/**
 * A KMS call needed to <em>encrypt</em> failed for a reason that is not the customer's doing
 * (throttling, a 5xx, a network error) and nothing was latched: encryption may be retried later.
 * Decryption never throws this: any failed {@code Decrypt} latches and throws {@link
 * KeyRevokedException}.
 */
public final class KmsUnavailableException extends PanopsCryptoException {
  private static final long serialVersionUID = 1L;

  public KmsUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
