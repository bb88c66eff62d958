package com.panops.crypto.format;

import static com.panops.crypto.format.MessageFormat.MAX_FRAMES;
import static com.panops.crypto.format.MessageFormat.MAX_FRAME_SIZE;
import static com.panops.crypto.format.MessageFormat.MAX_HEADER_LENGTH;
import static com.panops.crypto.format.MessageFormat.MIN_FRAME_SIZE;
import static com.panops.crypto.format.MessageFormat.TAG_LENGTH;

/**
 * Where the bytes of a framed (v1) message lie: {@code header || frame_0 || ... || frame_{n-1}}.
 * Frame {@code i} holds plaintext bytes {@code [i*F, min((i+1)*F, P))} and is {@code F + 16} bytes
 * long, except the last, which holds {@code 0..F} plaintext bytes (none only when it is the only
 * frame) plus its 16-byte tag. A message therefore has {@code max(1, ceil(P / F))} frames.
 *
 * <p>The one place this arithmetic lives: the core's streams, the S3 adapter's object layout and
 * ranged reads, and the JDBC adapter's streams all ask an instance of this type. Pure, immutable,
 * no I/O. Lengths that no valid message has are answered with {@code -1}, so that each caller
 * raises its own typed integrity error.
 */
public final class FrameGeometry {
  private final int headerLength;
  private final int frameSize;

  private FrameGeometry(int headerLength, int frameSize) {
    this.headerLength = headerLength;
    this.frameSize = frameSize;
  }

  /**
   * The geometry of messages with a header of {@code headerLength} bytes and frames of {@code
   * frameSize} plaintext bytes.
   *
   * @throws IllegalArgumentException if either is outside the format's bounds
   */
  public static FrameGeometry of(int headerLength, int frameSize) {
    if (headerLength < 1 || headerLength > MAX_HEADER_LENGTH) {
      throw new IllegalArgumentException("header length out of range: " + headerLength);
    }
    if (frameSize < MIN_FRAME_SIZE || frameSize > MAX_FRAME_SIZE) {
      throw new IllegalArgumentException("frame size out of range: " + frameSize);
    }
    return new FrameGeometry(headerLength, frameSize);
  }

  /** Whether {@code frameSize} is one the format allows. */
  public static boolean isValidFrameSize(long frameSize) {
    return frameSize >= MIN_FRAME_SIZE && frameSize <= MAX_FRAME_SIZE;
  }

  /** Length of the message header, in bytes. */
  public int headerLength() {
    return headerLength;
  }

  /** Plaintext bytes per frame. */
  public int frameSize() {
    return frameSize;
  }

  /** Ciphertext bytes of a full frame: the frame size plus its tag. */
  public int fullFrameLength() {
    return frameSize + TAG_LENGTH;
  }

  /** The number of frames of a message of {@code plaintextLength} bytes (at least one). */
  public long frameCount(long plaintextLength) {
    return frameCount(frameSize, plaintextLength);
  }

  /** The length of the whole message holding {@code plaintextLength} bytes. */
  public long ciphertextLength(long plaintextLength) {
    return ciphertextLength(headerLength, frameSize, plaintextLength);
  }

  static long frameCount(int frameSize, long plaintextLength) {
    return plaintextLength == 0 ? 1 : (plaintextLength + frameSize - 1) / frameSize;
  }

  static long ciphertextLength(int headerLength, int frameSize, long plaintextLength) {
    return headerLength + plaintextLength + frameCount(frameSize, plaintextLength) * TAG_LENGTH;
  }

  /**
   * The number of frames of a message of {@code ciphertextLength} bytes, or -1 if no valid message
   * has that length (too short, a last frame without plaintext after a full one, too many frames).
   */
  public long frameCountOfMessage(long ciphertextLength) {
    return frameCountOfMessage(headerLength, frameSize, ciphertextLength);
  }

  /** {@link #frameCountOfMessage(long)} without an instance, for the header's own accessors. */
  static long frameCountOfMessage(int headerLength, int frameSize, long ciphertextLength) {
    long body = ciphertextLength - headerLength;
    if (body < TAG_LENGTH) {
      return -1;
    }
    long unit = (long) frameSize + TAG_LENGTH;
    long n = (body + unit - 1) / unit;
    long last = body - (n - 1) * unit;
    if (last < TAG_LENGTH || (n > 1 && last == TAG_LENGTH) || n > MAX_FRAMES) {
      return -1;
    }
    return n;
  }

  /**
   * The plaintext length of a message of {@code ciphertextLength} bytes, or -1 if no valid message
   * has that length.
   */
  public long plaintextLengthOfMessage(long ciphertextLength) {
    long n = frameCountOfMessage(ciphertextLength);
    return n < 0 ? -1 : ciphertextLength - headerLength - n * TAG_LENGTH;
  }

  /** Offset, from the start of the message, of frame {@code index}. */
  public long frameOffset(long index) {
    return frameOffset(headerLength, frameSize, index);
  }

  static long frameOffset(int headerLength, int frameSize, long index) {
    return headerLength + index * ((long) frameSize + TAG_LENGTH);
  }

  /** The index of the frame holding plaintext byte {@code plaintextOffset}. */
  public long frameIndexOf(long plaintextOffset) {
    return plaintextOffset / frameSize;
  }

  /** The plaintext offset of the first byte of frame {@code index}. */
  public long plaintextOffsetOf(long index) {
    return index * frameSize;
  }

  /**
   * Offset, from the start of the message, one past the last byte of frame {@code index} in a
   * message of {@code ciphertextLength} bytes (the last frame may be short).
   */
  public long frameEnd(long index, long ciphertextLength) {
    return Math.min(frameOffset(index + 1), ciphertextLength);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FrameGeometry g
        && g.headerLength == headerLength
        && g.frameSize == frameSize;
  }

  @Override
  public int hashCode() {
    return 31 * headerLength + frameSize;
  }

  @Override
  public String toString() {
    return "FrameGeometry[header=" + headerLength + ", frameSize=" + frameSize + "]";
  }
}
