package com.panops.crypto.kms;

import com.panops.crypto.RevocationReason;

/**
 * A KMS call failed (after the SDK's retries) or its answer did not check out. Internal: the engine
 * turns it into {@code KeyRevokedException} or {@code KmsUnavailableException}.
 */
public final class KmsCallException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final RevocationReason reason;
  private final String errorCode;
  private final boolean interrupted;

  KmsCallException(RevocationReason reason, String errorCode, String message, Throwable cause) {
    this(reason, errorCode, message, cause, false);
  }

  KmsCallException(
      RevocationReason reason,
      String errorCode,
      String message,
      Throwable cause,
      boolean interrupted) {
    super(message, cause);
    this.reason = reason;
    this.errorCode = errorCode;
    this.interrupted = interrupted;
  }

  /**
   * Whether the call was abandoned because the calling thread was interrupted: KMS never answered,
   * so it says nothing about the key (the engine fails the call without latching).
   */
  public boolean interrupted() {
    return interrupted;
  }

  /** Why the call failed, as a revocation reason. */
  public RevocationReason reason() {
    return reason;
  }

  /** KMS's error code, or the client-side exception's class name. */
  public String errorCode() {
    return errorCode;
  }

  /**
   * KMS's own error message (from the first AWS service exception in the cause chain), or {@code
   * null} if KMS did not answer. Names the key KMS looked at, where KMS says it ({@code "<arn> is
   * disabled."}, {@code "... on resource: <arn>"}).
   */
  public String kmsMessage() {
    for (Throwable t = getCause(); t != null; t = t.getCause()) {
      if (t instanceof software.amazon.awssdk.awscore.exception.AwsServiceException a) {
        return a.awsErrorDetails() != null && a.awsErrorDetails().errorMessage() != null
            ? a.awsErrorDetails().errorMessage()
            : a.getMessage();
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return null;
  }

  /**
   * Whether KMS's message names {@code keyArn} (the whole ARN, or its key id after {@code key/}),
   * as a whole token: not as a prefix of a longer ARN or id.
   */
  public boolean kmsMessageNames(String keyArn) {
    String m = kmsMessage();
    if (m == null || keyArn == null || keyArn.isEmpty()) {
      return false;
    }
    if (containsToken(m, keyArn)) {
      return true;
    }
    int slash = keyArn.indexOf("key/");
    return slash >= 0 && containsToken(m, keyArn.substring(slash + 4));
  }

  private static final java.util.regex.Pattern KEY_REFERENCE =
      java.util.regex.Pattern.compile(
          "arn:[a-z0-9-]+:kms:[a-z0-9-]*:[0-9]*:key/[A-Za-z0-9-]+"
              + "|(?<![A-Za-z0-9/-])(?:mrk-[0-9a-f]{32}"
              + "|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?![A-Za-z0-9-])");

  /**
   * Whether KMS's message names a KMS key (by key ARN or key id) other than every one of {@code
   * keyArns}: KMS looked at a key the request did not name, as for an encrypted data key altered to
   * refer to another key.
   */
  public boolean kmsMessageNamesAKeyOtherThan(String... keyArns) {
    String m = kmsMessage();
    if (m == null) {
      return false;
    }
    java.util.regex.Matcher k = KEY_REFERENCE.matcher(m);
    while (k.find()) {
      String ref = k.group();
      boolean ours = false;
      for (String arn : keyArns) {
        if (arn != null && (arn.equals(ref) || arn.endsWith("key/" + ref))) {
          ours = true;
        }
      }
      if (!ours) {
        return true;
      }
    }
    return false;
  }

  private static boolean containsToken(String m, String token) {
    if (token.isEmpty()) {
      return false;
    }
    for (int i = m.indexOf(token); i >= 0; i = m.indexOf(token, i + 1)) {
      boolean before = i == 0 || !idChar(m.charAt(i - 1));
      int end = i + token.length();
      boolean after = end == m.length() || !idChar(m.charAt(end));
      if (before && after) {
        return true;
      }
    }
    return false;
  }

  private static boolean idChar(char c) {
    return Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '/' || c == ':';
  }
}
