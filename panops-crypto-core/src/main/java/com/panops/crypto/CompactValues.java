package com.panops.crypto;

import com.panops.crypto.cache.EncryptionKey;
import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.revocation.KeyState;
import java.util.Arrays;

/**
 * Compact values (docs/FORMAT.md, "Compact values"): one AES-GCM seal under a data key that the
 * value names by a key id registered in the {@link DataKeyRegistry}. The registry row (its CMK,
 * wrapped key, key context and commitment) is checked before its data key is used; a row the cache
 * holds may be older than the registry's (re-wrapped by a migration, or repaired), so a refusal a
 * newer row may cure reads the row once more.
 */
record CompactValues(PanopsCrypto root, String tenantId, TenantKeys tenantKeys, DataKeys keys) {

  /** A compact value of {@code plaintext}; see {@link TenantCrypto#encryptCompact}. */
  byte[] encrypt(byte[] plaintext, KeyContext keyContext, MessageAad aad) {
    if (root.rows == null) {
      throw new IllegalStateException("compact values need a DataKeyRegistry (builder)");
    }
    if (plaintext.length > CompactFormat.MAX_PLAINTEXT) {
      throw new IllegalArgumentException(
          "a compact value holds at most " + CompactFormat.MAX_PLAINTEXT + " bytes");
    }
    KeyState s = root.revocations.state(tenantKeys.currentKeyArn(), tenantId);
    EncryptionKey ek = keys.acquire(s, keyContext, plaintext.length, 1, DataKeys.KeyUse.COMPACT);
    try {
      return CompactFormat.seal(
          ek.key(), ek.keyId(), ek.compactContext(), aad.canonical, plaintext, 0, plaintext.length);
    } finally {
      ek.key().release();
    }
  }

  /**
   * A registry row was refused in a way a newer version of the row may cure (it names a CMK this
   * tenant no longer uses, or that CMK is latched while the row may have been re-wrapped since).
   */
  private static final class StaleRow extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient RuntimeException failure;

    StaleRow(RuntimeException failure) {
      super(null, null, false, false);
      this.failure = failure;
    }
  }

  /** The plaintext of a compact value; see {@link TenantCrypto#decrypt}. */
  byte[] decrypt(byte[] value, KeyContext kc, MessageAad aad) {
    long keyId = CompactFormat.keyId(value);
    RegistryRows rows = root.rows;
    if (rows == null) {
      throw new IntegrityException(); // cannot be authenticated here
    }
    root.revocations.checkOpen();
    RegistryRows.Row r = rows.get(tenantId, keyId);
    if (r == null) {
      throw new RegisteredKeyException(keyId, true, null, null);
    }
    try {
      return decryptWithRow(r, keyId, value, kc, aad);
    } catch (StaleRow stale) {
      // The cached row may be older than the registry's (re-wrapped to a new CMK by a migration,
      // or repaired): read it once more. An unchanged row fails as it did.
      RegistryRows.Row again = rows.fresh(tenantId, keyId);
      if (again == null) {
        throw new RegisteredKeyException(keyId, true, null, null);
      }
      if (again.row.sameAs(r.row)) {
        throw stale.failure;
      }
      try {
        return decryptWithRow(again, keyId, value, kc, aad);
      } catch (StaleRow s2) {
        throw s2.failure;
      }
    }
  }

  private byte[] decryptWithRow(
      RegistryRows.Row r, long keyId, byte[] value, KeyContext kc, MessageAad aad) {
    RegisteredDataKey row = r.row;
    if (!row.tenantId().equals(tenantId)
        || row.keyId() != keyId
        || row.suite() != CompactFormat.SUITE) {
      throw new StaleRow(
          new RegisteredKeyException(keyId, false, "tenant, key id or suite differs", null));
    }
    if (!Arrays.equals(row.keyContextRef(), kc.canonical)) {
      throw new IntegrityException(); // presented under another key context (no KMS call)
    }
    KeyState s = keys.stateForArn(row.keyArn());
    if (s == null) {
      throw new StaleRow(
          new RegisteredKeyException(
              keyId, false, "it names a KMS key this tenant may not use", null));
    }
    boolean current = row.keyArn().equals(tenantKeys.currentKeyArn());
    FrameKey fk;
    try {
      root.revocations.beforeUse(s);
      byte[] edk = row.edkRef();
      fk = keys.leaseDecryptionKey(s, kc, CompactFormat.SUITE, edk, 0, edk.length);
    } catch (KeyRevokedException e) {
      if (current) {
        throw e; // the kill switch: a row under the current CMK is not re-read
      }
      throw new StaleRow(e);
    } catch (IntegrityException e) {
      throw new StaleRow(
          new RegisteredKeyException(
              keyId, false, "KMS refused its wrapped data key while the CMK is alive", e));
    }
    byte[] out;
    try {
      if (r.verifiedFor != fk) {
        byte[] c = CompactFormat.commitment(fk, keyId, r.context);
        if (!CompactFormat.commitmentEquals(c, row.commitmentRef())) {
          throw new StaleRow(
              new RegisteredKeyException(
                  keyId, false, "its data key does not match its commitment", null));
        }
        r.verifiedFor = fk;
      }
      out = CompactFormat.open(fk, value, r.context, aad.canonical);
    } finally {
      fk.release();
    }
    return keys.releaseUnlessLatched(s, out);
  }
}
