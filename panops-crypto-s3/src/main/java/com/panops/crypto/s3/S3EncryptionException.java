package com.panops.crypto.s3;

import software.amazon.awssdk.core.exception.SdkClientException;

/**
 * The base type of the adapter's own failures: an object that cannot be served encrypted as asked
 * (a plaintext object read without {@code allowLegacyPlaintextReads()}, KMS unavailable for
 * encryption, an operation the adapter refuses). The subtypes {@link S3IntegrityException} and
 * {@link S3KeyRevokedException} carry the two security outcomes. S3's own errors are still the
 * SDK's {@code S3Exception}; caller mistakes are {@link IllegalArgumentException}.
 *
 * <p>Messages never contain plaintext, ciphertext or key material.
 */
public class S3EncryptionException extends SdkClientException {
  private static final long serialVersionUID = 1L;

  public S3EncryptionException(String message) {
    this(message, null);
  }

  public S3EncryptionException(String message, Throwable cause) {
    super(SdkClientException.builder().message(message).cause(cause));
  }
}
