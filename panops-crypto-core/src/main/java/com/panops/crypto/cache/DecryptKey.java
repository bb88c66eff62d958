package com.panops.crypto.cache;

import java.util.Arrays;

/**
 * A decrypt-side cache key: tenant, CMK, suite, canonical key context and encrypted data key.
 * Look-ups use a view over the ciphertext's bytes (no copy); what is stored is an owned copy.
 * Internal.
 */
public final class DecryptKey {
  final String tenant;
  final String keyArn;
  final int suite;
  final byte[] keyContext;
  private final int keyContextHash;
  private final byte[] buf;
  private final int off;
  private final int len;
  private final int hash;

  private DecryptKey(
      String tenant,
      String keyArn,
      int suite,
      byte[] keyContext,
      int keyContextHash,
      byte[] buf,
      int off,
      int len) {
    this.tenant = tenant;
    this.keyArn = keyArn;
    this.suite = suite;
    this.keyContext = keyContext;
    this.keyContextHash = keyContextHash;
    this.buf = buf;
    this.off = off;
    this.len = len;
    // Hash the context's cached hash and only the last 32 bytes of the encrypted data key: KMS
    // blobs of one CMK share a prefix, and their tails (IV, ciphertext, tag) are random. Equality
    // still compares every byte. Hashing the whole blob on every decryption costs more than the
    // rest of the look-up.
    int h = tenant.hashCode();
    h = 31 * h + suite;
    h = 31 * h + keyContextHash;
    h = 31 * h + len;
    for (int i = Math.max(off, off + len - 32); i < off + len; i++) {
      h = 31 * h + buf[i];
    }
    this.hash = h;
  }

  /** A view for look-ups; must not be stored. */
  public static DecryptKey view(
      String tenant,
      String keyArn,
      int suite,
      byte[] keyContext,
      int keyContextHash,
      byte[] buf,
      int off,
      int len) {
    return new DecryptKey(tenant, keyArn, suite, keyContext, keyContextHash, buf, off, len);
  }

  /** An owned copy, safe to store. */
  public DecryptKey owned() {
    return new DecryptKey(
        tenant,
        keyArn,
        suite,
        keyContext,
        keyContextHash,
        Arrays.copyOfRange(buf, off, off + len),
        0,
        len);
  }

  /** The tenant of the entry. */
  public String tenant() {
    return tenant;
  }

  /** The CMK that wraps the data key. */
  public String keyArn() {
    return keyArn;
  }

  /** A copy of the encrypted data key. */
  public byte[] encryptedDataKey() {
    return Arrays.copyOfRange(buf, off, off + len);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof DecryptKey)) {
      return false;
    }
    DecryptKey k = (DecryptKey) o;
    return hash == k.hash
        && suite == k.suite
        && tenant.equals(k.tenant)
        && keyArn.equals(k.keyArn)
        && Arrays.equals(keyContext, k.keyContext)
        && Arrays.equals(buf, off, off + len, k.buf, k.off, k.off + k.len);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    return "DecryptKey[" + tenant + ", " + keyArn + "]";
  }
}
