package com.panops.crypto;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * One row of the {@link DataKeyRegistry}: a data key of one tenant, wrapped by a CMK, that compact
 * values refer to by {@link #keyId()}.
 *
 * <ul>
 *   <li>{@code tenantId}, {@code keyId}: the row's identity (a random 64-bit id per tenant);
 *   <li>{@code keyArn}, {@code encryptedDataKey}: the CMK and KMS {@code CiphertextBlob} of the
 *       data key; the only fields a re-wrap (KMS {@code ReEncrypt} to another CMK) changes;
 *   <li>{@code keyContext}: the canonical encoding of the {@link KeyContext} (docs/FORMAT.md,
 *       "Pairs"), which with {@code panops:tenant} is the KMS encryption context;
 *   <li>{@code suite}: the compact suite (2);
 *   <li>{@code commitment}: 32 bytes committing to the data key, the key id, the tenant and the key
 *       context (docs/FORMAT.md, "Compact values"), checked after every unwrap;
 *   <li>{@code created}: when the row was registered (informational, not authenticated).
 * </ul>
 *
 * <p>Nothing here is secret; {@link #toString()} shows the identity and the CMK only. Immutable
 * (arrays are copied in and out).
 */
public final class RegisteredDataKey {
  private final String tenantId;
  private final long keyId;
  private final String keyArn;
  private final byte[] encryptedDataKey;
  private final byte[] keyContext;
  private final int suite;
  private final byte[] commitment;
  private final Instant created;

  /**
   * A row, as a registry implementation reads it back.
   *
   * @throws NullPointerException if any argument is null
   * @throws IllegalArgumentException if the wrapped key or key context is empty, or the commitment
   *     is not 32 bytes
   */
  public RegisteredDataKey(
      String tenantId,
      long keyId,
      String keyArn,
      byte[] encryptedDataKey,
      byte[] keyContext,
      int suite,
      byte[] commitment,
      Instant created) {
    this.tenantId = Objects.requireNonNull(tenantId, "tenantId");
    this.keyId = keyId;
    this.keyArn = Objects.requireNonNull(keyArn, "keyArn");
    this.encryptedDataKey = Objects.requireNonNull(encryptedDataKey, "encryptedDataKey").clone();
    this.keyContext = Objects.requireNonNull(keyContext, "keyContext").clone();
    this.suite = suite;
    this.commitment = Objects.requireNonNull(commitment, "commitment").clone();
    this.created = Objects.requireNonNull(created, "created");
    if (this.encryptedDataKey.length == 0 || this.keyContext.length < 2) {
      throw new IllegalArgumentException("empty wrapped data key or key context");
    }
    if (this.commitment.length != 32) {
      throw new IllegalArgumentException("commitment must be 32 bytes");
    }
  }

  public String tenantId() {
    return tenantId;
  }

  public long keyId() {
    return keyId;
  }

  /** The key id as 16 lower-case hex digits. */
  public String keyIdHex() {
    return hex(keyId);
  }

  public String keyArn() {
    return keyArn;
  }

  /** A copy of the KMS {@code CiphertextBlob} of the data key. */
  public byte[] encryptedDataKey() {
    return encryptedDataKey.clone();
  }

  /** A copy of the canonical encoding of the key context. */
  public byte[] keyContext() {
    return keyContext.clone();
  }

  public int suite() {
    return suite;
  }

  /** A copy of the 32-byte commitment. */
  public byte[] commitment() {
    return commitment.clone();
  }

  public Instant created() {
    return created;
  }

  /** This row with another CMK and wrapped data key (what a re-wrap changes); all else kept. */
  public RegisteredDataKey withKeyReference(String newKeyArn, byte[] newEncryptedDataKey) {
    return new RegisteredDataKey(
        tenantId, keyId, newKeyArn, newEncryptedDataKey, keyContext, suite, commitment, created);
  }

  byte[] edkRef() {
    return encryptedDataKey;
  }

  byte[] keyContextRef() {
    return keyContext;
  }

  byte[] commitmentRef() {
    return commitment;
  }

  /** Whether every field but {@code created} is equal. */
  public boolean sameAs(RegisteredDataKey o) {
    return o != null
        && tenantId.equals(o.tenantId)
        && keyId == o.keyId
        && keyArn.equals(o.keyArn)
        && Arrays.equals(encryptedDataKey, o.encryptedDataKey)
        && Arrays.equals(keyContext, o.keyContext)
        && suite == o.suite
        && Arrays.equals(commitment, o.commitment);
  }

  static String hex(long id) {
    return String.format("%016x", id);
  }

  @Override
  public String toString() {
    return "RegisteredDataKey[" + tenantId + ", " + hex(keyId) + ", " + keyArn + "]";
  }
}
