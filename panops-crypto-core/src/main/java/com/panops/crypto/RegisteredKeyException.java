package com.panops.crypto;

/**
 * A compact value refers to a registered data key whose registry row is missing, or does not verify
 * (altered: its tenant, CMK, key context or suite is not what the reader expects, KMS refused its
 * wrapped data key while the CMK is alive, or the unwrapped data key does not match the row's
 * commitment). Either the value was tampered with (its key id altered, or it was copied from
 * another tenant) or the registry was.
 *
 * <p>An {@link IntegrityException}: nothing was decrypted. The message names the key id (public:
 * every value under that data key carries it), never key material or value bytes.
 */
public final class RegisteredKeyException extends IntegrityException {
  private static final long serialVersionUID = 1L;

  private final long keyId;
  private final boolean missing;

  RegisteredKeyException(long keyId, boolean missing, String why, Throwable cause) {
    super(
        "ciphertext failed integrity check: registered data key "
            + RegisteredDataKey.hex(keyId)
            + (missing ? " is not in the data-key registry" : " does not verify: " + why),
        cause);
    this.keyId = keyId;
    this.missing = missing;
  }

  /** The key id the value refers to. */
  public long keyId() {
    return keyId;
  }

  /** The key id as 16 hex digits, as in the message. */
  public String keyIdHex() {
    return RegisteredDataKey.hex(keyId);
  }

  /** Whether the row is missing (else it is present and does not verify). */
  public boolean isMissing() {
    return missing;
  }
}
