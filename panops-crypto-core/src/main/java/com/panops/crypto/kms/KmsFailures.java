package com.panops.crypto.kms;

import com.panops.crypto.RevocationReason;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.model.DisabledException;
import software.amazon.awssdk.services.kms.model.IncorrectKeyException;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.KmsInvalidStateException;
import software.amazon.awssdk.services.kms.model.NotFoundException;

/**
 * The classification of a failed KMS call, done once: the {@link RevocationReason} it counts as,
 * its error code, and whether it was abandoned by an interrupt rather than answered. What a reason
 * means for the kill switch is decided elsewhere ({@code revocation.FailureRules}).
 */
public final class KmsFailures {
  private KmsFailures() {}

  /**
   * Whether a failed call was abandoned because this thread was interrupted (the SDK throws {@code
   * AbortedException}, or an I/O call saw the interrupt): not an answer from KMS. An answer from
   * KMS anywhere in the cause chain ({@link AwsServiceException}) always counts as an answer,
   * whatever the thread's interrupt flag says: a {@code Future.cancel(true)} that races KMS's
   * {@code DisabledException} must not turn it into "KMS said nothing". The flag itself is left as
   * it is, for the caller to see.
   */
  public static boolean interrupted(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof AwsServiceException) {
        return false;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    if (Thread.currentThread().isInterrupted()) {
      return true;
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof software.amazon.awssdk.core.exception.AbortedException
          || t instanceof InterruptedException
          || t instanceof java.io.InterruptedIOException
              && !(t instanceof java.net.SocketTimeoutException)) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }

  public static String errorCode(Throwable e) {
    if (e instanceof AwsServiceException) {
      AwsServiceException ase = (AwsServiceException) e;
      if (ase.awsErrorDetails() != null && ase.awsErrorDetails().errorCode() != null) {
        return ase.awsErrorDetails().errorCode();
      }
      return "HTTP" + ase.statusCode();
    }
    return e.getClass().getSimpleName();
  }

  /** Maps a failed call to the reason a key is latched for. */
  public static RevocationReason classify(Throwable e) {
    if (e instanceof DisabledException) {
      return RevocationReason.DISABLED;
    }
    if (e instanceof KmsInvalidStateException) {
      return invalidState((KmsInvalidStateException) e);
    }
    if (e instanceof NotFoundException) {
      return RevocationReason.NOT_FOUND;
    }
    if (e instanceof InvalidCiphertextException) {
      return RevocationReason.INVALID_CIPHERTEXT;
    }
    if (e instanceof IncorrectKeyException) {
      return RevocationReason.INCORRECT_KEY;
    }
    if (e instanceof AwsServiceException) {
      AwsServiceException ase = (AwsServiceException) e;
      String code = errorCode(e);
      if ("AccessDeniedException".equals(code) || "AccessDenied".equals(code)) {
        return RevocationReason.ACCESS_DENIED;
      }
      if (ase.isThrottlingException() || "ThrottlingException".equals(code)) {
        return RevocationReason.THROTTLED;
      }
      if ("KeyUnavailableException".equals(code)) {
        return RevocationReason.KEY_UNAVAILABLE;
      }
      if ("DependencyTimeoutException".equals(code)) {
        return RevocationReason.DEPENDENCY_TIMEOUT;
      }
      if (ase.statusCode() >= 500 || "KMSInternalException".equals(code)) {
        return RevocationReason.UNAVAILABLE;
      }
      return RevocationReason.OTHER;
    }
    if (e instanceof SdkException) {
      return RevocationReason.UNAVAILABLE; // I/O error, timeout, dropped connection
    }
    return RevocationReason.OTHER;
  }

  /**
   * Which key state a {@code KMSInvalidStateException} reports. KMS has one error for every state
   * that forbids the operation and names the state only in its message ({@code "<key ARN> is
   * pending deletion."}, {@code "... is pending import."}, {@code "... is unavailable."}); a
   * message not recognised is {@link RevocationReason#INVALID_STATE}, which latches all the same.
   */
  public static RevocationReason invalidState(KmsInvalidStateException e) {
    String m =
        e.awsErrorDetails() != null && e.awsErrorDetails().errorMessage() != null
            ? e.awsErrorDetails().errorMessage()
            : String.valueOf(e.getMessage());
    String s = m.toLowerCase(java.util.Locale.ROOT).replace(" ", "");
    if (s.contains("pendingdeletion")) {
      return RevocationReason.PENDING_DELETION;
    }
    if (s.contains("pendingimport")) {
      return RevocationReason.PENDING_IMPORT;
    }
    if (s.contains("isunavailable") || s.contains("keystateunavailable")) {
      return RevocationReason.KEY_STORE_UNAVAILABLE;
    }
    return RevocationReason.INVALID_STATE;
  }
}
