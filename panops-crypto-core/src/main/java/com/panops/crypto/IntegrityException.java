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
 *
 * <p>The one subclass, {@link RegisteredKeyException}, names the registered data key a compact
 * value refers to (a public id that the value itself carries) when its registry row is missing or
 * does not verify; it says nothing about the value's bytes.
 */
public class IntegrityException extends PanopsCryptoException {
  private static final long serialVersionUID = 1L;

  public IntegrityException() {
    super("ciphertext failed integrity check");
  }

  public IntegrityException(Throwable cause) {
    super("ciphertext failed integrity check", cause);
  }

  /** For {@link RegisteredKeyException}: a message that names a (public) key id, nothing more. */
  IntegrityException(String message, Throwable cause) {
    super(message, cause);
  }
}
