package com.panops.crypto.revocation;

import com.panops.crypto.RevocationReason;
import com.panops.crypto.kms.KmsCallException;

/**
 * What a failed KMS call means for the kill switch: the one place a classified failure ({@link
 * KmsCallException#reason()}, from the gateway) becomes a verdict. SECURITY.md states the same
 * rules, and a test covers each.
 *
 * <ul>
 *   <li>An interrupted call: KMS never answered, nothing is known about the key. Fail the call
 *       only; one cancelled request must not latch a CMK for every tenant.
 *   <li>A data-key {@code Decrypt} refused about one ciphertext ({@code InvalidCiphertext}, {@code
 *       IncorrectKey}, a plaintext of the wrong length), or refused for a customer action whose
 *       message does not name this key (KMS looked at another key, named inside an altered
 *       encrypted data key): a probe of the key decides.
 *   <li>Any other {@code Decrypt} failure latches: a customer action at once and for good until it
 *       settles, a transport failure until the next successful probe (fail closed).
 *   <li>{@code GenerateDataKey}/{@code Encrypt}: customer actions and bad answers latch; other
 *       failures fail the call (encryption releases no plaintext).
 * </ul>
 */
public final class FailureRules {
  private FailureRules() {}

  /** The verdict on a failed data-key call. */
  public enum Verdict {
    /** The calling thread was interrupted; KMS said nothing. Fail this call only. */
    ABANDONED,
    /** Possibly about one ciphertext: a (spaced, shared) probe of the key decides. */
    JUDGE_BY_PROBE,
    /** Latch the key. */
    LATCH,
    /** Fail this call only. */
    FAIL_CALL
  }

  /** The verdict on a failed data-key call under {@code keyArn}; {@code decrypt}: a Decrypt. */
  public static Verdict ofDataKeyFailure(KmsCallException e, String keyArn, boolean decrypt) {
    if (e.interrupted()) {
      return Verdict.ABANDONED;
    }
    if (decrypt && aboutTheCiphertext(e, keyArn)) {
      return Verdict.JUDGE_BY_PROBE;
    }
    RevocationReason r = e.reason();
    if (decrypt || r.isCustomerAction() || r == RevocationReason.BAD_RESPONSE) {
      return Verdict.LATCH;
    }
    return Verdict.FAIL_CALL;
  }

  /**
   * Whether a failed data-key {@code Decrypt} under {@code keyArn} may be about that one ciphertext
   * rather than the key: a per-ciphertext error, or a customer-action error whose message does not
   * name {@code keyArn} (KMS names the key it refused).
   */
  public static boolean aboutTheCiphertext(KmsCallException e, String keyArn) {
    if (isPerCiphertext(e.reason())) {
      return true;
    }
    return e.reason().isCustomerAction() && !e.kmsMessageNames(keyArn);
  }

  /**
   * Whether a failed {@code ReEncrypt} from {@code src} to {@code dst} is about the ciphertext: a
   * per-ciphertext error, or a customer-action error naming a third key and neither of these (an
   * encrypted data key altered to refer to another key). A customer-action error naming no key at
   * all cannot be attributed and is not about the ciphertext.
   */
  public static boolean reEncryptAboutTheCiphertext(KmsCallException e, String src, String dst) {
    return isPerCiphertext(e.reason())
        || (e.reason().isCustomerAction()
            && !e.kmsMessageNames(src)
            && !e.kmsMessageNames(dst)
            && e.kmsMessageNamesAKeyOtherThan(src, dst));
  }

  /** Whether {@code r} is a failure about one ciphertext, not about the key. */
  public static boolean isPerCiphertext(RevocationReason r) {
    return r == RevocationReason.INVALID_CIPHERTEXT || r == RevocationReason.INCORRECT_KEY;
  }
}
