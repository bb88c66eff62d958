package com.panops.crypto.s3;

import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.PanopsCryptoException;

/** Maps the core's exceptions to the adapter's {@code SdkClientException} types. */
final class Errors {
  private Errors() {}

  /** The adapter's exception for {@code e}, or {@code e} itself if it is not a core exception. */
  static RuntimeException map(RuntimeException e) {
    if (e instanceof IntegrityException) {
      return new S3IntegrityException("object failed integrity check", e);
    }
    if (e instanceof KeyRevokedException) {
      return new S3KeyRevokedException((KeyRevokedException) e);
    }
    if (e instanceof KmsUnavailableException) {
      return new S3EncryptionException("KMS unavailable: " + e.getMessage(), e);
    }
    if (e instanceof PanopsCryptoException) {
      return new S3EncryptionException(e.getMessage(), e);
    }
    return e;
  }

  /**
   * An integrity failure found by the adapter itself (metadata that does not match the object).
   * Like the core's, the message says nothing about which check failed.
   */
  static S3IntegrityException integrity() {
    return new S3IntegrityException("object failed integrity check", null);
  }
}
