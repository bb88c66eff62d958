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
  private final byte[] buf;
  private final int off;
  private final int len;
  private final int hash;

  private DecryptKey(
      String tenant, String keyArn, int suite, byte[] keyContext, byte[] buf, int off, int len) {
    this.tenant = tenant;
    this.keyArn = keyArn;
    this.suite = suite;
    this.keyContext = keyContext;
    this.buf = buf;
    this.off = off;
    this.len = len;
    int h = tenant.hashCode();
    h = 31 * h + suite;
    h = 31 * h + Arrays.hashCode(keyContext);
    for (int i = off; i < off + len; i++) {
      h = 31 * h + buf[i];
    }
    this.hash = h;
  }

  /** A view for look-ups; must not be stored. */
  public static DecryptKey view(
      String tenant, String keyArn, int suite, byte[] keyContext, byte[] buf, int off, int len) {
    return new DecryptKey(tenant, keyArn, suite, keyContext, buf, off, len);
  }

  /** An owned copy, safe to store. */
  public DecryptKey owned() {
    return new DecryptKey(
        tenant, keyArn, suite, keyContext, Arrays.copyOfRange(buf, off, off + len), 0, len);
  }

  public String tenant() {
    return tenant;
  }

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
