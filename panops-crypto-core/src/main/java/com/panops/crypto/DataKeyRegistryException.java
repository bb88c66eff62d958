package com.panops.crypto;

/**
 * The {@link DataKeyRegistry} could not be read or written (the store is unavailable, or a key id
 * could not be allocated). Nothing was encrypted or decrypted; retrying later may succeed.
 */
public class DataKeyRegistryException extends PanopsCryptoException {
  private static final long serialVersionUID = 1L;

  public DataKeyRegistryException(String message, Throwable cause) {
    super(message, cause);
  }
}
