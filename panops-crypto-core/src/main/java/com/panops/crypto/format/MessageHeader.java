package com.panops.crypto.format;

import static com.panops.crypto.format.MessageFormat.*;

import com.panops.crypto.IntegrityException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A parsed message header: a view over the bytes it was parsed from (no copies are made).
 *
 * <p>Parsing checks structure only: version, suite, frame size and every length against its bound
 * before anything is allocated. Authenticity is established later, when a frame (whose AAD holds
 * the bound part of the header) verifies and the data key matches the commitment.
 *
 * <p>Instances are immutable as long as the underlying buffer is not modified; safe to share
 * between threads on that condition.
 */
public final class MessageHeader {
  private final byte[] buf;
  private final int off;
  private final int frameSize;
  private final int kcOff;
  private final int kcLen;
  private final int tenantOff;
  private final int tenantLen;
  private final int boundLen;
  private final int arnOff;
  private final int arnLen;
  private final int edkOff;
  private final int edkLen;
  private final int length;

  private MessageHeader(
      byte[] buf, int off, int frameSize, int kcLen, int tenantLen, int arnLen, int edkLen) {
    this.buf = buf;
    this.off = off;
    this.frameSize = frameSize;
    this.kcOff = off + FIXED_PREFIX_LENGTH;
    this.kcLen = kcLen;
    this.tenantOff = kcOff + kcLen + 2;
    this.tenantLen = tenantLen;
    this.boundLen = FIXED_PREFIX_LENGTH + kcLen + 2 + tenantLen;
    this.arnOff = off + boundLen + 2;
    this.arnLen = arnLen;
    this.edkOff = arnOff + arnLen + 2;
    this.edkLen = edkLen;
    this.length = boundLen + 2 + arnLen + 2 + edkLen;
  }

  /**
   * Parses the header at {@code buf[off..off+len)}.
   *
   * @throws IntegrityException if the bytes are not a well-formed version-1 header (including when
   *     {@code len} is too short to hold it)
   */
  public static MessageHeader parse(byte[] buf, int off, int len) {
    if (buf == null || off < 0 || len < 0 || off > buf.length - len) {
      throw new IllegalArgumentException("bad buffer range");
    }
    int end = off + len;
    if (len < FIXED_PREFIX_LENGTH) {
      throw new IntegrityException();
    }
    checkFixed(buf, off);
    int frameSize = u32(buf, off + OFF_FRAME_SIZE);
    int kcLen = u16(buf, off + OFF_KC_LEN);
    if (kcLen < 2 || kcLen > MAX_KEY_CONTEXT_LENGTH) {
      throw new IntegrityException();
    }
    int p = off + FIXED_PREFIX_LENGTH + kcLen;
    int tenantLen = field(buf, p, end, 1, MAX_TENANT_LENGTH);
    p += 2 + tenantLen;
    int arnLen = field(buf, p, end, 1, MAX_KEY_ARN_LENGTH);
    p += 2 + arnLen;
    int edkLen = field(buf, p, end, 1, MAX_EDK_LENGTH);
    return new MessageHeader(buf, off, frameSize, kcLen, tenantLen, arnLen, edkLen);
  }

  /** Reads a u16 length at {@code p}, bounds it, and checks the field fits before {@code end}. */
  private static int field(byte[] buf, int p, int end, int min, int max) {
    if (p + 2 > end) {
      throw new IntegrityException();
    }
    int len = u16(buf, p);
    if (len < min || len > max || p + 2 + len > end) {
      throw new IntegrityException();
    }
    return len;
  }

  /**
   * Reads exactly one header from {@code in} into a buffer of its own, bounding every length before
   * allocating.
   *
   * @throws IntegrityException if the stream ends early or the header is malformed
   * @throws IOException if {@code in} fails
   */
  public static MessageHeader read(InputStream in) throws IOException {
    byte[] h = new byte[FIXED_PREFIX_LENGTH];
    readFully(in, h, 0, h.length);
    checkFixed(h, 0);
    int kcLen = u16(h, OFF_KC_LEN);
    if (kcLen < 2 || kcLen > MAX_KEY_CONTEXT_LENGTH) {
      throw new IntegrityException();
    }
    // key context, then three length-prefixed fields: tenant, key ARN, encrypted data key
    h = grow(in, h, kcLen + 2);
    int[][] bounds = {{1, MAX_TENANT_LENGTH}, {1, MAX_KEY_ARN_LENGTH}, {1, MAX_EDK_LENGTH}};
    for (int f = 0; f < bounds.length; f++) {
      int len = u16(h, h.length - 2);
      if (len < bounds[f][0] || len > bounds[f][1]) {
        throw new IntegrityException();
      }
      h = grow(in, h, len + (f < bounds.length - 1 ? 2 : 0));
    }
    return parse(h, 0, h.length);
  }

  private static byte[] grow(InputStream in, byte[] h, int more) throws IOException {
    byte[] bigger = java.util.Arrays.copyOf(h, h.length + more);
    readFully(in, bigger, h.length, more);
    return bigger;
  }

  private static void checkFixed(byte[] buf, int off) {
    if ((buf[off + OFF_VERSION] & 0xFF) != VERSION
        || (buf[off + OFF_SUITE] & 0xFF) != SUITE_AES256_GCM_COMMIT) {
      throw new IntegrityException();
    }
    int frameSize = u32(buf, off + OFF_FRAME_SIZE);
    if (frameSize < MIN_FRAME_SIZE || frameSize > MAX_FRAME_SIZE) {
      throw new IntegrityException();
    }
  }

  /**
   * Encodes a header whose message id is left zero (to be filled per message): the template an
   * encrypt-side cache entry keeps so that a message costs one array copy.
   */
  public static byte[] encodeTemplate(
      int frameSize,
      FrameKey key,
      byte[] keyContext,
      byte[] tenantUtf8,
      byte[] keyArnUtf8,
      byte[] edk) {
    if (frameSize < MIN_FRAME_SIZE || frameSize > MAX_FRAME_SIZE) {
      throw new IllegalArgumentException("frame size out of range");
    }
    if (keyContext.length < 2 || keyContext.length > MAX_KEY_CONTEXT_LENGTH) {
      throw new IllegalArgumentException("key context too long");
    }
    if (tenantUtf8.length < 1 || tenantUtf8.length > MAX_TENANT_LENGTH) {
      throw new IllegalArgumentException("tenant id length out of range");
    }
    checkKeyReference(keyArnUtf8, edk);
    int boundLen = FIXED_PREFIX_LENGTH + keyContext.length + 2 + tenantUtf8.length;
    byte[] h = new byte[boundLen + 2 + keyArnUtf8.length + 2 + edk.length];
    h[OFF_VERSION] = (byte) VERSION;
    h[OFF_SUITE] = (byte) SUITE_AES256_GCM_COMMIT;
    putU32(h, OFF_FRAME_SIZE, frameSize);
    key.copyCommitment(h, OFF_COMMITMENT);
    putU16(h, OFF_KC_LEN, keyContext.length);
    int p = FIXED_PREFIX_LENGTH;
    System.arraycopy(keyContext, 0, h, p, keyContext.length);
    p += keyContext.length;
    putU16(h, p, tenantUtf8.length);
    System.arraycopy(tenantUtf8, 0, h, p + 2, tenantUtf8.length);
    writeKeyReference(h, boundLen, keyArnUtf8, edk);
    return h;
  }

  private static void checkKeyReference(byte[] keyArnUtf8, byte[] edk) {
    if (keyArnUtf8.length < 1 || keyArnUtf8.length > MAX_KEY_ARN_LENGTH) {
      throw new IllegalArgumentException("key ARN length out of range");
    }
    if (edk.length < 1 || edk.length > MAX_EDK_LENGTH) {
      throw new IllegalArgumentException("encrypted data key length out of range");
    }
  }

  private static void writeKeyReference(byte[] h, int p, byte[] keyArnUtf8, byte[] edk) {
    putU16(h, p, keyArnUtf8.length);
    System.arraycopy(keyArnUtf8, 0, h, p + 2, keyArnUtf8.length);
    p += 2 + keyArnUtf8.length;
    putU16(h, p, edk.length);
    System.arraycopy(edk, 0, h, p + 2, edk.length);
  }

  /** Length of the bound part of a header with these field lengths. */
  public static int boundLength(int keyContextLength, int tenantLength) {
    return FIXED_PREFIX_LENGTH + keyContextLength + 2 + tenantLength;
  }

  /** Offset of the message id inside an encoded header. */
  public static int messageIdOffset() {
    return OFF_MESSAGE_ID;
  }

  // ---- accessors ----

  /** Total header length in bytes. */
  public int length() {
    return length;
  }

  /** Plaintext bytes per frame. */
  public int frameSize() {
    return frameSize;
  }

  /** The KMS key ARN named in the header (not yet authenticated). */
  public String keyArn() {
    return new String(buf, arnOff, arnLen, StandardCharsets.UTF_8);
  }

  /** Whether the key ARN in the header equals {@code arnUtf8}. */
  public boolean keyArnEquals(byte[] arnUtf8) {
    return java.util.Arrays.equals(buf, arnOff, arnOff + arnLen, arnUtf8, 0, arnUtf8.length);
  }

  /** Whether the canonical key context in the header equals {@code canonical}. */
  public boolean keyContextEquals(byte[] canonical) {
    return java.util.Arrays.equals(buf, kcOff, kcOff + kcLen, canonical, 0, canonical.length);
  }

  /** The tenant id in the header (not yet authenticated). */
  public String tenant() {
    return new String(buf, tenantOff, tenantLen, StandardCharsets.UTF_8);
  }

  /** Whether the tenant id in the header equals {@code tenantUtf8}. */
  public boolean tenantEquals(byte[] tenantUtf8) {
    return java.util.Arrays.equals(
        buf, tenantOff, tenantOff + tenantLen, tenantUtf8, 0, tenantUtf8.length);
  }

  /** The key context pairs stored in the header (decoded; not yet authenticated). */
  public Map<String, String> keyContext() {
    Map<String, String> m = new LinkedHashMap<>();
    int p = kcOff;
    int end = kcOff + kcLen;
    int n = u16(buf, p);
    p += 2;
    for (int i = 0; i < n; i++) {
      if (p + 2 > end) {
        throw new IntegrityException();
      }
      int kl = u16(buf, p);
      if (p + 2 + kl + 2 > end) {
        throw new IntegrityException();
      }
      String k = new String(buf, p + 2, kl, StandardCharsets.UTF_8);
      p += 2 + kl;
      int vl = u16(buf, p);
      if (p + 2 + vl > end) {
        throw new IntegrityException();
      }
      String v = new String(buf, p + 2, vl, StandardCharsets.UTF_8);
      p += 2 + vl;
      m.put(k, v);
    }
    if (p != end) {
      throw new IntegrityException();
    }
    return Collections.unmodifiableMap(m);
  }

  /** A copy of the encrypted data key. */
  public byte[] encryptedDataKey() {
    return java.util.Arrays.copyOfRange(buf, edkOff, edkOff + edkLen);
  }

  /** A copy of the 12-byte message id. */
  public byte[] messageId() {
    return java.util.Arrays.copyOfRange(
        buf, off + OFF_MESSAGE_ID, off + OFF_MESSAGE_ID + MESSAGE_ID_LENGTH);
  }

  /** A copy of the whole header. */
  public byte[] toByteArray() {
    return java.util.Arrays.copyOfRange(buf, off, off + length);
  }

  /**
   * The same message under another key reference: a header with the same bound part (so every frame
   * still verifies) and a new key ARN and encrypted data key, for re-wrapping with {@code
   * ReEncrypt} without touching the body. The data key must be the same; the commitment enforces it
   * at decryption.
   */
  public byte[] withKeyReference(byte[] keyArnUtf8, byte[] edk) {
    checkKeyReference(keyArnUtf8, edk);
    byte[] h = new byte[boundLen + 2 + keyArnUtf8.length + 2 + edk.length];
    System.arraycopy(buf, off, h, 0, boundLen);
    writeKeyReference(h, boundLen, keyArnUtf8, edk);
    return h;
  }

  // ---- layout ----

  /**
   * The plaintext length of a message of {@code ciphertextLength} bytes with this header.
   *
   * @throws IntegrityException if no valid message has that length
   */
  public long plaintextLength(long ciphertextLength) {
    long n = frameCount(ciphertextLength);
    return ciphertextLength - length - n * TAG_LENGTH;
  }

  /**
   * The number of frames of a message of {@code ciphertextLength} bytes with this header.
   *
   * @throws IntegrityException if no valid message has that length
   */
  public long frameCount(long ciphertextLength) {
    long n = FrameGeometry.frameCountOfMessage(length, frameSize, ciphertextLength);
    if (n < 0) {
      throw new IntegrityException();
    }
    return n;
  }

  /** The geometry of this message's frames. */
  public FrameGeometry geometry() {
    return FrameGeometry.of(length, frameSize);
  }

  /** Offset, from the start of the message, of frame {@code index}. */
  public long frameOffset(long index) {
    return FrameGeometry.frameOffset(length, frameSize, index);
  }

  // ---- package-private views for the frame cipher and the engine ----

  byte[] buffer() {
    return buf;
  }

  int offset() {
    return off;
  }

  int boundLength() {
    return boundLen;
  }

  /** The encrypted data key region, for cache look-ups without copying. */
  public int edkOffset() {
    return edkOff;
  }

  /** Length of the encrypted data key. */
  public int edkLength() {
    return edkLen;
  }

  /** The buffer this header was parsed from (not a copy). */
  public byte[] array() {
    return buf;
  }

  /** Offset of the key commitment in {@link #array()}. */
  public int commitmentOffset() {
    return off + OFF_COMMITMENT;
  }

  @Override
  public String toString() {
    return "MessageHeader[v1, frameSize=" + frameSize + ", key=" + keyArn() + "]";
  }

  // ---- integers ----

  static int u16(byte[] b, int p) {
    return ((b[p] & 0xFF) << 8) | (b[p + 1] & 0xFF);
  }

  static int u32(byte[] b, int p) {
    long v =
        ((long) (b[p] & 0xFF) << 24)
            | ((b[p + 1] & 0xFF) << 16)
            | ((b[p + 2] & 0xFF) << 8)
            | (b[p + 3] & 0xFF);
    return v > Integer.MAX_VALUE ? -1 : (int) v;
  }

  static void putU16(byte[] b, int p, int v) {
    b[p] = (byte) (v >>> 8);
    b[p + 1] = (byte) v;
  }

  static void putU32(byte[] b, int p, int v) {
    b[p] = (byte) (v >>> 24);
    b[p + 1] = (byte) (v >>> 16);
    b[p + 2] = (byte) (v >>> 8);
    b[p + 3] = (byte) v;
  }

  static void readFully(InputStream in, byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      int r = in.read(b, off, len);
      if (r < 0) {
        throw new IntegrityException(new EOFException("message ends inside its header"));
      }
      off += r;
      len -= r;
    }
  }
}
