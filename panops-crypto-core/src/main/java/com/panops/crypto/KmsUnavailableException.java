package com.panops.crypto;

/**
 * KMS could not give an answer the library can act on, and nothing was latched: a KMS call needed
 * to <em>encrypt</em> failed for a reason that is not the customer's doing (throttling, a 5xx, a
 * network error); or a request had to confirm that its key is alive (its last proof is older than
 * two probe intervals, or KMS refused one ciphertext's data key) and the probe did not finish
 * within the probe timeout. The request failed closed; it may be retried later.
 */
public final class KmsUnavailableException extends PanopsCryptoException {
  private static final long serialVersionUID = 1L;

  public KmsUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
