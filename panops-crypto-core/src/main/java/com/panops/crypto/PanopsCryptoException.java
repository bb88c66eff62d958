package com.panops.crypto;

/**
 * Base type of every exception this library throws on purpose (besides {@link
 * IllegalArgumentException} and {@link NullPointerException} for caller mistakes).
 *
 * <p>Messages never contain key material, plaintext or ciphertext bytes.
 */
public class PanopsCryptoException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PanopsCryptoException(String message) {
    super(message);
  }

  public PanopsCryptoException(String message, Throwable cause) {
    super(message, cause);
  }
}
