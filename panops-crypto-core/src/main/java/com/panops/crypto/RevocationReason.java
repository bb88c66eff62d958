package com.panops.crypto;

/** Why a customer master key was latched as revoked. */
public enum RevocationReason {
  /** KMS answered {@code DisabledException}: the customer disabled the key. */
  DISABLED,
  /**
   * KMS answered {@code KMSInvalidStateException}: the key is pending deletion (or otherwise
   * unusable).
   */
  PENDING_DELETION,
  /** KMS answered {@code AccessDeniedException}: the vendor was removed from the key policy. */
  ACCESS_DENIED,
  /** KMS answered {@code NotFoundException}: the key is deleted or unknown. */
  NOT_FOUND,
  /** KMS refused one ciphertext ({@code InvalidCiphertextException}); a probe runs at once. */
  INVALID_CIPHERTEXT,
  /**
   * KMS said the ciphertext belongs to another key ({@code IncorrectKeyException}); a probe runs at
   * once.
   */
  INCORRECT_KEY,
  /** KMS throttled the call after the SDK's own retries. */
  THROTTLED,
  /** KMS could not be reached or failed internally (HTTP 5xx, I/O error, timeout). */
  UNAVAILABLE,
  /** KMS answered, but the answer did not check out (wrong key id or plaintext length). */
  BAD_RESPONSE,
  /** Any other failure of a KMS call. */
  OTHER;

  /**
   * Whether this reason also latches when it is the answer to {@code GenerateDataKey} or {@code
   * Encrypt}: only the kinds that mean the customer acted on the key.
   */
  public boolean isCustomerAction() {
    return this == DISABLED
        || this == PENDING_DELETION
        || this == ACCESS_DENIED
        || this == NOT_FOUND;
  }
}
