package com.panops.crypto;

import java.util.Objects;

/**
 * The tenant's customer master key is latched as revoked: KMS refused a {@code Decrypt} (or a
 * {@code GenerateDataKey} of the customer-action kind), or the liveness probe failed. Every
 * encryption and decryption under that key fails fast with this exception, without calling KMS and
 * without touching the cache, until a liveness probe succeeds again.
 */
public final class KeyRevokedException extends PanopsCryptoException {
  private static final long serialVersionUID = 1L;

  private final String keyArn;
  private final RevocationReason reason;

  public KeyRevokedException(String keyArn, RevocationReason reason, Throwable cause) {
    super("KMS key " + keyArn + " is revoked (" + reason + ")", cause);
    this.keyArn = Objects.requireNonNull(keyArn, "keyArn");
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  /** The ARN of the customer master key that is latched. */
  public String keyArn() {
    return keyArn;
  }

  /** Why it was latched. */
  public RevocationReason reason() {
    return reason;
  }
}
