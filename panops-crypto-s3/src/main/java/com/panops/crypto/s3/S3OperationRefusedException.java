package com.panops.crypto.s3;

/**
 * An S3 operation the encrypting client refuses because it would store or serve bytes outside the
 * encryption (plaintext parts, an Object Lambda response, an annotation), or break the binding of
 * an object to its key (a rename). Nothing was sent to S3. The message names the operation and what
 * to use instead.
 */
public class S3OperationRefusedException extends S3EncryptionException {
  private static final long serialVersionUID = 1L;

  public S3OperationRefusedException(String message) {
    super(message);
  }
}
