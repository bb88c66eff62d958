package com.panops.crypto.s3;

/** The failure of an S3 operation that {@link EncryptingS3Client} refuses to pass through. */
final class Refused {
  private Refused() {}

  /** {@code op} is refused; {@code instead} names what to call. */
  static S3OperationRefusedException operation(String op, String instead) {
    return new S3OperationRefusedException(
        op + " would bypass encryption and is refused by the encrypting client; use " + instead);
  }

  /** {@code op} is refused; the encrypting put and get do its work. */
  static S3OperationRefusedException operation(String op) {
    return operation(op, "putObject/getObject");
  }
}
