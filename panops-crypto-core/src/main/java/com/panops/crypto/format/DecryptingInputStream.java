package com.panops.crypto.format;

import static com.panops.crypto.format.MessageFormat.*;

import com.panops.crypto.IntegrityException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Reads frames from an underlying stream and returns their plaintext, one authenticated frame at a
 * time: no byte of a frame is returned before its tag verified. Memory is about two frames.
 *
 * <p>Two modes: a whole message whose end is the end of the stream (the final frame is recognised
 * by end-of-stream, and its final flag is authenticated, so truncation at a frame boundary fails);
 * or a range of frames {@code first..last} of a message whose final frame index is known from its
 * total length (for ranged reads).
 *
 * <p>Any failure throws {@link IntegrityException} (an unchecked exception, also from {@code read})
 * and the stream stays failed; a failure of the guard (the kill switch) throws what the guard threw
 * and fails the stream the same way. The stream is given a key with a lease already taken and
 * releases it exactly once: at the end of the message, on failure, or on {@code close()}, whichever
 * comes first. Not thread-safe.
 */
public final class DecryptingInputStream extends BulkInputStream {
  private final InputStream in;
  private final FrameKey key;
  private final MessageHeader header;
  private final byte[] messageAad;
  private final long finalIndex;
  private final long lastIndex;
  private final int unit;
  private byte[] ct;
  private byte[] pt;
  private final Runnable guard;
  private long index;
  private int ptPos;
  private int ptLen;
  private int carry = -1;
  private boolean done;
  private boolean failed;
  private boolean released;

  /**
   * @param first index of the first frame {@code in} starts with
   * @param last index of the last frame to read, or -1 to read to the end of the stream
   * @param finalIndex index of the message's final frame, or -1 if it is to be recognised by the
   *     end of the stream
   * @param guard run before and after each frame is opened and before buffered bytes are served;
   *     throws to stop the stream (the kill switch: a key revoked mid-stream stops it at the next
   *     read)
   */
  public DecryptingInputStream(
      InputStream in,
      FrameKey key,
      MessageHeader header,
      byte[] messageAad,
      long first,
      long last,
      long finalIndex,
      Runnable guard) {
    if (!key.commitmentMatches(header.buffer(), header.commitmentOffset())) {
      throw new IntegrityException();
    }
    this.in = in;
    this.key = key;
    this.header = header;
    this.messageAad = messageAad;
    this.index = first;
    this.lastIndex = last;
    this.finalIndex = finalIndex;
    this.guard = guard;
    this.unit = header.frameSize() + TAG_LENGTH;
    // Buffers start small and grow to one frame, so that a small message costs little garbage.
    this.ct = new byte[Math.min(unit, 4096 + TAG_LENGTH)];
    this.pt = new byte[0];
  }

  @Override
  protected int readChecked(byte[] b, int off, int len) throws IOException {
    if (failed) {
      throw new IntegrityException();
    }
    if (len == 0) {
      return 0;
    }
    if (ptPos < ptLen) {
      // Bytes of a frame already opened are served only while the guard still passes: a key
      // latched mid-frame stops the stream at the next read, not only at the next frame.
      try {
        guard.run();
      } catch (RuntimeException | Error e) {
        fail();
        throw e;
      }
    }
    while (ptPos == ptLen) {
      if (done) {
        return -1;
      }
      nextFrame();
    }
    int n = Math.min(len, ptLen - ptPos);
    System.arraycopy(pt, ptPos, b, off, n);
    ptPos += n;
    return n;
  }

  @Override
  public int available() {
    return ptLen - ptPos;
  }

  private void nextFrame() throws IOException {
    try {
      guard.run();
      int got = 0;
      if (carry >= 0) {
        ct[0] = (byte) carry;
        carry = -1;
        got = 1;
      }
      got = readFrame(got);
      boolean fin = isFinal(got);
      if (got < TAG_LENGTH || (fin && index > 0 && got == TAG_LENGTH && finalIndex < 0)) {
        throw new IntegrityException();
      }
      if (pt.length < got - TAG_LENGTH) {
        Arrays.fill(pt, (byte) 0);
        pt = new byte[got == unit ? unit - TAG_LENGTH : got - TAG_LENGTH];
      }
      ptLen =
          FrameCipher.open(
              key,
              header.buffer(),
              header.offset(),
              header.boundLength(),
              messageAad,
              index,
              fin,
              ct,
              0,
              got,
              pt,
              0);
      guard.run();
      ptPos = 0;
      if (fin || index == lastIndex) {
        done = true;
        releaseKey();
      }
      index++;
    } catch (IOException | RuntimeException | Error e) {
      fail();
      throw e;
    }
  }

  /**
   * Whether the frame just read ({@code got} bytes) is the message's final frame: known from the
   * frame count when the length is known (a short frame before the final one, a frame past it, or a
   * byte after it fails), else from the end of the stream (a short frame, or nothing after it).
   */
  private boolean isFinal(int got) throws IOException {
    if (finalIndex >= 0) {
      boolean fin = index == finalIndex;
      if ((!fin && got != unit) || index > finalIndex || (fin && in.read() >= 0)) {
        throw new IntegrityException();
      }
      return fin;
    }
    if (got < unit) {
      return true;
    }
    int peek = in.read();
    carry = peek;
    return peek < 0;
  }

  private void fail() {
    failed = true;
    ptPos = 0;
    ptLen = 0;
    Arrays.fill(pt, (byte) 0);
    releaseKey();
  }

  private void releaseKey() {
    if (!released) {
      released = true;
      key.release();
    }
  }

  /** Reads until a whole frame ({@code unit} bytes) or the end of the stream; grows the buffer. */
  private int readFrame(int got) throws IOException {
    while (got < unit) {
      if (got == ct.length) {
        ct = Arrays.copyOf(ct, Math.min(unit, ct.length * 2));
      }
      int r = in.read(ct, got, ct.length - got);
      if (r < 0) {
        break;
      }
      got += r;
    }
    return got;
  }

  @Override
  public void close() throws IOException {
    Arrays.fill(pt, (byte) 0);
    ptPos = ptLen = 0;
    done = true;
    releaseKey();
    in.close();
  }
}
