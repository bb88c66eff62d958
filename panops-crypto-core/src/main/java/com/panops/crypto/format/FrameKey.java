package com.panops.crypto.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.Provider;
import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * A 256-bit data key ready for the frame cipher, with its key commitment computed once, whose bytes
 * live by lease.
 *
 * <p><b>Leases.</b> The object starts with one reference, its owner's (the cache entry that holds
 * it, or whoever called {@link #of}). Every operation that uses the key takes a lease with {@link
 * #tryLease()} and gives it back with {@link #release()}. {@link #retire()} (alias {@link
 * #destroy()}) marks the key retired, so that no new lease is granted, and gives up the owner's
 * reference; the bytes are zeroed when the last reference is released, never before. So no
 * encryption or decryption can observe a zeroed or half-zeroed key, and retiring a key never breaks
 * a stream that still holds a lease on it: a check of a flag followed by a copy of the bytes would
 * let a purge between the two seal a frame under an all-zero key.
 *
 * <p>Cost on the warm path: one compare-and-set and one atomic decrement per operation. A striped
 * counter would spread the cache line further but makes the "last release" undecidable without a
 * lock; the JMH runs in benchmarks/ show what the single counter costs.
 *
 * <p>The JDK's AES implementation keeps its own expanded copy of a key (and a copy of its bytes)
 * inside each {@code Cipher} object that was initialised with it; this library keeps one {@code
 * Cipher} per thread (and per provider a key names), which holds the last data key that thread used
 * until the thread uses another key or ends. That copy cannot be wiped from here; SECURITY.md says
 * so. {@link #toString()} never shows key bytes.
 *
 * <p>Commitment (docs/FORMAT.md, "Key commitment"): the first 32 bytes of {@code SHA-512(0x00000001
 * || dataKey || "panops-crypto/v1 key commitment" || suite)}, the one-step key derivation of NIST
 * SP 800-56C rev. 2 with SHA-512 as H. Computed once per data key, so it costs nothing per message.
 */
public final class FrameKey implements SecretKey {
  private static final long serialVersionUID = 1L;
  private static final byte[] COMMIT_LABEL =
      "panops-crypto/v1 key commitment".getBytes(StandardCharsets.US_ASCII);
  private static final VarHandle REFS;
  private static final VarHandle RETIRED;

  static {
    try {
      MethodHandles.Lookup l = MethodHandles.lookup();
      REFS = l.findVarHandle(FrameKey.class, "refs", int.class);
      RETIRED = l.findVarHandle(FrameKey.class, "retired", boolean.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final byte[] key;
  private final byte[] commitment;

  /** The JCE provider of this key's AES-GCM, or {@code null} for the JCA's choice. */
  private final transient Provider provider;

  /** The owner's reference plus one per lease; 0 once the bytes are zeroed (terminal). */
  @SuppressWarnings("unused") // accessed through REFS
  private volatile int refs = 1;

  /** Set once by {@link #retire()}: no new lease from then on. */
  @SuppressWarnings("unused") // accessed through RETIRED
  private volatile boolean retired;

  private FrameKey(byte[] key, byte[] commitment, Provider provider) {
    this.key = key;
    this.commitment = commitment;
    this.provider = provider;
  }

  /**
   * Copies {@code dataKey} (32 bytes) into a new frame key; the caller keeps ownership of (and
   * should wipe) its own array, and owns the new key's one reference.
   */
  public static FrameKey of(byte[] dataKey, int suite) {
    return of(dataKey, suite, null);
  }

  /**
   * The same, sealed and opened by {@code provider}'s {@code AES/GCM/NoPadding} ({@code null}: the
   * JCA's choice, the highest-priority provider that offers it). The caller has checked that the
   * provider offers it ({@link FrameCipher#checkProvider}).
   */
  public static FrameKey of(byte[] dataKey, int suite, Provider provider) {
    if (dataKey == null || dataKey.length != MessageFormat.DATA_KEY_LENGTH) {
      throw new IllegalArgumentException("data key must be 32 bytes");
    }
    byte[] copy = dataKey.clone();
    return new FrameKey(copy, commit(copy, suite), provider);
  }

  /**
   * A second, independent key object with the same bytes and commitment, owned by the caller (so
   * that two cache entries never share one lifetime). The caller must hold a lease on this key.
   */
  public FrameKey copy() {
    return new FrameKey(key.clone(), commitment, provider);
  }

  /**
   * Takes a lease: on {@code true} the key bytes stay intact until the matching {@link #release()}.
   * Returns {@code false} once the key is retired (or its bytes are gone); the caller must then get
   * another key.
   */
  public boolean tryLease() {
    for (; ; ) {
      int r = (int) REFS.getVolatile(this);
      if (r <= 0 || (boolean) RETIRED.getVolatile(this)) {
        return false;
      }
      if (REFS.compareAndSet(this, r, r + 1)) {
        return true;
      }
    }
  }

  /**
   * Gives back one reference (a lease, or the owner's); the last one zeroes the bytes.
   *
   * @throws IllegalStateException if released more often than leased (a bug in the caller)
   */
  public void release() {
    int r = (int) REFS.getAndAdd(this, -1) - 1;
    if (r == 0) {
      Arrays.fill(key, (byte) 0);
    } else if (r < 0) {
      throw new IllegalStateException("data key released more often than leased");
    }
  }

  /**
   * Retires the key: no new lease is granted, and the owner's reference is given up, so the bytes
   * are zeroed as soon as the last lease is released (at once if none is held). Idempotent; only
   * the first call gives up the owner's reference.
   */
  public void retire() {
    if (RETIRED.compareAndSet(this, false, true)) {
      release();
    }
  }

  /** Whether {@link #retire()} was called (the bytes may still be in use by leases). */
  public boolean isRetired() {
    return (boolean) RETIRED.getVolatile(this);
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

  /**
   * The compact format's commitment (docs/FORMAT.md, "Compact values"): the first 32 bytes of
   * {@code SHA-512(0x00000001 || dataKey || label || fixedInfo)}. The caller must hold a lease.
   */
  byte[] deriveCommitment(byte[] label, byte[] fixedInfo) {
    if ((int) REFS.getVolatile(this) <= 0) {
      throw new IllegalStateException("data key used without a lease");
    }
    try {
      MessageDigest sha512 = MessageDigest.getInstance("SHA-512");
      sha512.update(new byte[] {0, 0, 0, 1});
      sha512.update(key);
      sha512.update(label);
      sha512.update(fixedInfo);
      return Arrays.copyOf(sha512.digest(), MessageFormat.COMMITMENT_LENGTH);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-512 unavailable", e);
    }
  }

  /** The provider of this key's AES-GCM, or {@code null} for the JCA's choice. */
  Provider provider() {
    return provider;
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
    // Callers hold a lease, so the bytes are intact here. The check only catches a caller that
    // does not: it is not what keeps the key whole (a check-then-copy cannot be).
    if ((int) REFS.getVolatile(this) <= 0) {
      throw new IllegalStateException("data key used without a lease");
    }
    return key.clone();
  }

  /** Same as {@link #retire()}: the bytes are zeroed when the last lease is released. */
  @Override
  public void destroy() {
    retire();
  }

  /** Whether the key bytes are zeroed (retired and every lease released). */
  @Override
  public boolean isDestroyed() {
    return (int) REFS.getVolatile(this) <= 0;
  }

  @Override
  public String toString() {
    return "FrameKey[redacted]";
  }
}
