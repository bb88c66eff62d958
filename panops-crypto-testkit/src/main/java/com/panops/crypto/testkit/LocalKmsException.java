package com.panops.crypto.testkit;

/**
 * A KMS error as LocalKms answers it on the wire ({@code {"__type": errorCode, "message": ...}})
 * and as its in-process customer actions ({@link LocalKms#disableKey} and friends) throw it.
 */
public final class LocalKmsException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String errorCode;
  private final int httpStatus;

  public LocalKmsException(String errorCode, int httpStatus, String message) {
    super(message);
    this.errorCode = errorCode;
    this.httpStatus = httpStatus;
  }

  /** A client error (HTTP 400). */
  public static LocalKmsException of(String errorCode, String message) {
    return new LocalKmsException(errorCode, 400, message);
  }

  /** The KMS error name, e.g. {@code DisabledException}. */
  public String errorCode() {
    return errorCode;
  }

  /** The HTTP status LocalKms answers with (400, 412 or 500). */
  public int httpStatus() {
    return httpStatus;
  }

  @Override
  public String toString() {
    return "LocalKmsException[" + errorCode + ", HTTP " + httpStatus + "]: " + getMessage();
  }
}
