package com.panops.crypto.format;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * A 256-bit data key ready for the frame cipher, with its key commitment computed once.
 *
 * <p>The key bytes live in an array this class owns; {@link #destroy()} zeroes it. The JDK's AES
 * implementation keeps its own expanded copy inside cipher objects that this library cannot wipe:
 * the JVM gives no stronger promise. {@link #toString()} never shows key bytes.
 *
 * <p>Commitment (docs/FORMAT.md, "Key commitment"): the first 32 bytes of {@code SHA-512(0x00000001
 * || dataKey || "panops-crypto/v1 key commitment" || suite)}, the one-step key derivation of NIST
 * SP 800-56C rev. 2 with SHA-512 as H. Computed once per data key, so it costs nothing per message.
 */
public final class FrameKey implements SecretKey {
  private static final long serialVersionUID = 1L;
  private static final byte[] COMMIT_LABEL =
      "panops-crypto/v1 key commitment".getBytes(StandardCharsets.US_ASCII);

  private final byte[] key;
  private final byte[] commitment;
  private volatile boolean destroyed;

  private FrameKey(byte[] key, byte[] commitment) {
    this.key = key;
    this.commitment = commitment;
  }

  /**
   * Copies {@code dataKey} (32 bytes) into a new frame key; the caller keeps ownership of (and
   * should wipe) its own array.
   */
  public static FrameKey of(byte[] dataKey, int suite) {
    if (dataKey == null || dataKey.length != MessageFormat.DATA_KEY_LENGTH) {
      throw new IllegalArgumentException("data key must be 32 bytes");
    }
    byte[] copy = dataKey.clone();
    return new FrameKey(copy, commit(copy, suite));
  }

  static byte[] commit(byte[] key, int suite) {
    try {
      MessageDigest sha512 = MessageDigest.getInstance("SHA-512");
      sha512.update(new byte[] {0, 0, 0, 1});
      sha512.update(key);
      sha512.update(COMMIT_LABEL);
      sha512.update((byte) suite);
      return Arrays.copyOf(sha512.digest(), MessageFormat.COMMITMENT_LENGTH);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-512 unavailable", e);
    }
  }

  /** The 32-byte key commitment (a copy). */
  public byte[] commitment() {
    return commitment.clone();
  }

  /**
   * Constant-time comparison of the commitment with {@code len} bytes of {@code buf} at {@code
   * off}.
   */
  public boolean commitmentMatches(byte[] buf, int off) {
    int diff = 0;
    for (int i = 0; i < MessageFormat.COMMITMENT_LENGTH; i++) {
      diff |= commitment[i] ^ buf[off + i];
    }
    return diff == 0;
  }

  void copyCommitment(byte[] dst, int off) {
    System.arraycopy(commitment, 0, dst, off, commitment.length);
  }

  @Override
  public String getAlgorithm() {
    return "AES";
  }

  @Override
  public String getFormat() {
    return "RAW";
  }

  @Override
  public byte[] getEncoded() {
    if (destroyed) {
      throw new IllegalStateException("data key destroyed");
    }
    return key.clone();
  }

  /** Zeroes the key bytes this object owns. Idempotent. */
  @Override
  public void destroy() {
    destroyed = true;
    Arrays.fill(key, (byte) 0);
  }

  @Override
  public boolean isDestroyed() {
    return destroyed;
  }

  @Override
  public String toString() {
    return "FrameKey[redacted]";
  }
}
