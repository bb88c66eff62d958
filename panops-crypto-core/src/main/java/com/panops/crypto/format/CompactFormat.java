package com.panops.crypto.format;

import com.panops.crypto.IntegrityException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * The compact value format, version 2 (docs/FORMAT.md, "Compact values"): a value refers to a data
 * key registered once in a {@link com.panops.crypto.DataKeyRegistry} by an 8-byte key id, instead
 * of carrying the wrapped data key.
 *
 * <pre>
 * value   = version(1)=0x02 || suite(1)=0x02 || keyId(8) || nonce(12) || ciphertext || tag(16)
 * aad     = value[0..22) || context || messageAad
 * context = u16 tenantLen || tenant || keyContext           (canonical pairs)
 * commitment (in the registry row)
 *         = first 32 bytes of SHA-512(u32(1) || K || "panops-crypto/v2 key commitment"
 *                                     || suite || keyId || context)
 * </pre>
 *
 * One AES-256-GCM invocation per value (no frames): plaintexts of at most {@link #MAX_PLAINTEXT}
 * bytes. Overhead {@value #OVERHEAD} bytes. Internal.
 */
public final class CompactFormat {
  private CompactFormat() {}

  public static final int VERSION = 2;

  /** AES-256-GCM, random 96-bit nonce, key commitment in the registry row. */
  public static final int SUITE = 2;

  public static final int KEY_ID_LENGTH = 8;
  static final int OFF_KEY_ID = 2;
  static final int OFF_NONCE = OFF_KEY_ID + KEY_ID_LENGTH;

  /** version, suite, key id, nonce. */
  public static final int HEADER_LENGTH = OFF_NONCE + MessageFormat.NONCE_LENGTH;

  /** Bytes a value adds to its plaintext: header and tag. */
  public static final int OVERHEAD = HEADER_LENGTH + MessageFormat.TAG_LENGTH;

  /** Largest plaintext of one compact value (one GCM invocation); larger values use version 1. */
  public static final int MAX_PLAINTEXT = 64 * 1024;

  private static final byte[] COMMIT_LABEL =
      "panops-crypto/v2 key commitment".getBytes(StandardCharsets.US_ASCII);

  /** Whether {@code value} starts with the compact version byte. */
  public static boolean isCompact(byte[] value) {
    return value != null && value.length > 0 && (value[0] & 0xFF) == VERSION;
  }

  /**
   * The key id of a compact value, after checking its structure (version, suite, length).
   *
   * @throws IntegrityException if the value is not a well-formed compact value
   */
  public static long keyId(byte[] value) {
    if (value.length < OVERHEAD
        || value.length > OVERHEAD + MAX_PLAINTEXT
        || (value[0] & 0xFF) != VERSION
        || (value[1] & 0xFF) != SUITE) {
      throw new IntegrityException();
    }
    long id = 0;
    for (int i = 0; i < KEY_ID_LENGTH; i++) {
      id = (id << 8) | (value[OFF_KEY_ID + i] & 0xFF);
    }
    return id;
  }

  /** {@code u16 tenantLen || tenant || keyContext}: bound into every value and the commitment. */
  public static byte[] context(byte[] tenantUtf8, byte[] keyContext) {
    byte[] c = new byte[2 + tenantUtf8.length + keyContext.length];
    MessageHeader.putU16(c, 0, tenantUtf8.length);
    System.arraycopy(tenantUtf8, 0, c, 2, tenantUtf8.length);
    System.arraycopy(keyContext, 0, c, 2 + tenantUtf8.length, keyContext.length);
    return c;
  }

  /** The registry row's commitment to {@code key} for {@code keyId} and {@code context}. */
  public static byte[] commitment(FrameKey key, long keyId, byte[] context) {
    byte[] info = new byte[1 + KEY_ID_LENGTH + context.length];
    info[0] = (byte) SUITE;
    putKeyId(info, 1, keyId);
    System.arraycopy(context, 0, info, 1 + KEY_ID_LENGTH, context.length);
    return key.deriveCommitment(COMMIT_LABEL, info);
  }

  /** Constant-time equality of two commitments. */
  public static boolean commitmentEquals(byte[] a, byte[] b) {
    if (a == null || b == null || a.length != b.length) {
      return false;
    }
    int diff = 0;
    for (int i = 0; i < a.length; i++) {
      diff |= a[i] ^ b[i];
    }
    return diff == 0;
  }

  static void putKeyId(byte[] b, int off, long keyId) {
    for (int i = KEY_ID_LENGTH - 1; i >= 0; i--) {
      b[off + i] = (byte) keyId;
      keyId >>>= 8;
    }
  }

  /**
   * Encrypts {@code pt[off..off+len)} into a new compact value with a fresh random nonce. The
   * caller holds a lease on {@code key} and has reserved one message on it.
   */
  public static byte[] seal(
      FrameKey key, long keyId, byte[] context, byte[] messageAad, byte[] pt, int off, int len) {
    byte[] out = new byte[OVERHEAD + len];
    FrameCipher.randomBytes(out, OFF_NONCE, MessageFormat.NONCE_LENGTH);
    sealInto(key, keyId, context, messageAad, pt, off, len, out);
    return out;
  }

  /** Encrypts with a given nonce: for the committed test vectors only. */
  static byte[] sealWithNonce(
      FrameKey key, long keyId, byte[] context, byte[] messageAad, byte[] pt, byte[] nonce) {
    byte[] out = new byte[OVERHEAD + pt.length];
    System.arraycopy(nonce, 0, out, OFF_NONCE, MessageFormat.NONCE_LENGTH);
    sealInto(key, keyId, context, messageAad, pt, 0, pt.length, out);
    return out;
  }

  private static void sealInto(
      FrameKey key,
      long keyId,
      byte[] context,
      byte[] messageAad,
      byte[] pt,
      int off,
      int len,
      byte[] out) {
    if (len < 0 || len > MAX_PLAINTEXT) {
      throw new IllegalArgumentException(
          "a compact value holds at most " + MAX_PLAINTEXT + " bytes");
    }
    out[0] = (byte) VERSION;
    out[1] = (byte) SUITE;
    putKeyId(out, OFF_KEY_ID, keyId);
    try {
      cipher(Cipher.ENCRYPT_MODE, key, out, context, messageAad)
          .doFinal(pt, off, len, out, HEADER_LENGTH);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM encryption failed", e);
    }
  }

  /**
   * Decrypts and authenticates a compact value whose structure {@link #keyId} checked. The caller
   * holds a lease on {@code key} and has verified the registry row's commitment to it.
   *
   * @throws IntegrityException if the tag does not verify; no plaintext is returned then
   */
  public static byte[] open(FrameKey key, byte[] value, byte[] context, byte[] messageAad) {
    byte[] out = new byte[value.length - OVERHEAD];
    try {
      cipher(Cipher.DECRYPT_MODE, key, value, context, messageAad)
          .doFinal(value, HEADER_LENGTH, value.length - HEADER_LENGTH, out, 0);
      return out;
    } catch (AEADBadTagException e) {
      Arrays.fill(out, (byte) 0);
      throw new IntegrityException();
    } catch (GeneralSecurityException e) {
      Arrays.fill(out, (byte) 0);
      throw new IntegrityException(e);
    }
  }

  /**
   * The AES-GCM cipher of one compact value, set up in {@code mode}: the nonce from {@code value}'s
   * header, then as AAD that header, {@code context} and {@code messageAad}.
   */
  private static Cipher cipher(
      int mode, FrameKey key, byte[] value, byte[] context, byte[] messageAad)
      throws GeneralSecurityException {
    Cipher c = FrameCipher.cipher(key);
    c.init(
        mode,
        key,
        new GCMParameterSpec(
            MessageFormat.TAG_LENGTH * 8, value, OFF_NONCE, MessageFormat.NONCE_LENGTH));
    c.updateAAD(value, 0, HEADER_LENGTH);
    c.updateAAD(context);
    c.updateAAD(messageAad);
    return c;
  }
}
