package com.panops.crypto.s3;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.RevocationReason;
import java.util.Objects;

/**
 * The tenant's customer master key is revoked (disabled, pending deletion, the vendor removed from
 * its policy, ...): the kill switch. The cause is always the core's {@link KeyRevokedException},
 * whose key ARN and reason are repeated here. Fails closed: no object under that key is read or
 * written until a liveness probe sees the key usable again.
 */
public final class S3KeyRevokedException extends S3EncryptionException {
  private static final long serialVersionUID = 1L;

  private final String keyArn;
  private final RevocationReason reason;

  public S3KeyRevokedException(KeyRevokedException cause) {
    super(Objects.requireNonNull(cause, "cause").getMessage(), cause);
    this.keyArn = cause.keyArn();
    this.reason = cause.reason();
  }

  /** The ARN of the revoked customer master key. */
  public String keyArn() {
    return keyArn;
  }

  /** Why the key is latched as revoked. */
  public RevocationReason reason() {
    return reason;
  }

  @Override
  public synchronized KeyRevokedException getCause() {
    return (KeyRevokedException) super.getCause();
  }
}
