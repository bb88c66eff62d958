package com.panops.crypto.s3;

/**
 * An object failed authentication: its bytes, its panops metadata or its length were changed, it
 * was copied or moved from another bucket or key, or it was read with another key context or
 * message AAD than it was written with. Deliberately unspecific (see the core's {@code
 * IntegrityException}, usually the cause). No plaintext byte of a frame that failed is ever
 * returned; when this is thrown by a stream, the bytes read before came from frames that verified.
 */
public final class S3IntegrityException extends S3EncryptionException {
  private static final long serialVersionUID = 1L;

  public S3IntegrityException(String message, Throwable cause) {
    super(message, cause);
  }
}
