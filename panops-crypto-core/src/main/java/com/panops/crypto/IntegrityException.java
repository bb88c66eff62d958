package com.panops.crypto;

/**
 * A ciphertext failed authentication: it was tampered with, truncated, extended, reordered, is not
 * a ciphertext of this library, belongs to another tenant, or was presented with a different key
 * context or message AAD than it was made with.
 *
 * <p>On purpose this exception says nothing more specific: a decryption oracle that tells the
 * caller which check failed helps an attacker. No plaintext byte of a message is released before
 * the frame holding it has been authenticated, so when this is thrown from a stream, what the
 * caller has read so far came only from frames that verified.
 */
public final class IntegrityException extends PanopsCryptoException {
  private static final long serialVersionUID = 1L;

  public IntegrityException() {
    super("ciphertext failed integrity check");
  }

  public IntegrityException(Throwable cause) {
    super("ciphertext failed integrity check", cause);
  }
}
