package com.panops.crypto;

/** Why a customer master key was latched as revoked. */
public enum RevocationReason {
  /** KMS answered {@code DisabledException}: the customer disabled the key. */
  DISABLED,
  /**
   * KMS answered {@code KMSInvalidStateException} saying the key is pending deletion: the customer
   * scheduled its deletion.
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
  OTHER,
  /**
   * KMS answered {@code KMSInvalidStateException} saying the key is pending import: its imported
   * key material expired or the customer deleted it.
   */
  PENDING_IMPORT,
  /**
   * KMS answered {@code KMSInvalidStateException} saying the key is unavailable: its custom key
   * store (CloudHSM or external) is disconnected, which the customer can do as a kill switch.
   */
  KEY_STORE_UNAVAILABLE,
  /**
   * KMS answered {@code KMSInvalidStateException} for another or an unrecognised state (for example
   * a key still being created); treated as a customer action, the stricter choice.
   */
  INVALID_STATE,
  /**
   * KMS answered {@code KeyUnavailableException}: it could not use the key at the moment (retryable
   * per KMS); latches as a transport failure does, and the next successful probe lifts it.
   */
  KEY_UNAVAILABLE,
  /**
   * KMS answered {@code DependencyTimeoutException}: a KMS-internal dependency timed out
   * (retryable); latches as a transport failure does.
   */
  DEPENDENCY_TIMEOUT;

  /**
   * Whether this reason also latches when it is the answer to {@code GenerateDataKey} or {@code
   * Encrypt}: only the kinds that mean the customer acted on the key.
   */
  public boolean isCustomerAction() {
    return this == DISABLED
        || this == PENDING_DELETION
        || this == ACCESS_DENIED
        || this == NOT_FOUND
        || this == PENDING_IMPORT
        || this == KEY_STORE_UNAVAILABLE
        || this == INVALID_STATE;
  }
}
