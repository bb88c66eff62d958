package com.panops.crypto.format;

import static com.panops.crypto.format.MessageFormat.*;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * Writes one framed message to an underlying stream. Memory is two frames, whatever the message
 * size. A full frame is held back until the next byte (or {@link #close()}) tells whether it is the
 * final one, so truncation at a frame boundary is detectable.
 *
 * <p>The stream is given a key with a lease already taken and releases it exactly once, when it is
 * closed. Not thread-safe (like any {@code OutputStream}). {@link #close()} writes the final frame
 * and closes the underlying stream; if {@code close()} is never called the message is incomplete
 * and will not decrypt. Once any write fails (the kill switch, a usage limit, an I/O error), the
 * stream is failed: every later write throws, and {@code close()} closes the underlying stream
 * without a final frame and throws, so a message whose writes did not all succeed never decrypts.
 */
public final class EncryptingOutputStream extends OutputStream {
  private static final int INITIAL_BUFFER = 4096;

  private final OutputStream out;
  private final FrameKey key;
  private final byte[] header;
  private final int boundLength;
  private final byte[] messageAad;
  private final int frameSize;
  private byte[] pt;
  private byte[] ct;
  private final FrameGuard guard;
  private int fill;
  private long index;
  private boolean headerWritten;
  private boolean closed;
  private boolean failed;

  /** Asked before every frame is sealed: the kill switch and usage accounting. */
  @FunctionalInterface
  public interface FrameGuard {
    /**
     * Called before a frame of {@code plaintextBytes} is sealed; throws to stop the stream (a
     * revoked key, a usage limit reached).
     */
    void beforeFrame(int plaintextBytes) throws IOException;
  }

  /**
   * @param template header from {@link MessageHeader#encodeTemplate}; copied, and a fresh message
   *     id is drawn here
   */
  public EncryptingOutputStream(
      OutputStream out,
      FrameKey key,
      byte[] template,
      int boundLength,
      int frameSize,
      byte[] messageAad,
      FrameGuard guard) {
    this.out = out;
    this.key = key;
    this.header = template.clone();
    FrameCipher.randomBytes(header, OFF_MESSAGE_ID, MESSAGE_ID_LENGTH);
    this.boundLength = boundLength;
    this.messageAad = messageAad;
    this.frameSize = frameSize;
    // Buffers start small and grow to one frame: a stream of a small message should not cost two
    // whole frames of garbage (measured: 133 KB per 1 KiB message with 64 KiB frames).
    this.pt = new byte[Math.min(frameSize, INITIAL_BUFFER)];
    this.ct = new byte[0];
    this.guard = guard;
  }

  private void ensureHeader() throws IOException {
    if (!headerWritten) {
      out.write(header);
      headerWritten = true;
    }
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    if (closed) {
      throw new IOException("stream closed");
    }
    if (failed) {
      throw new IOException("an earlier write failed; the message is incomplete");
    }
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    while (len > 0) {
      if (fill == frameSize) {
        try {
          sealAndWrite(false);
        } catch (IOException | RuntimeException | Error e) {
          failed = true;
          throw e;
        }
      }
      if (fill == pt.length) {
        byte[] old = pt;
        pt = Arrays.copyOf(pt, Math.min(frameSize, pt.length * 2));
        Arrays.fill(old, (byte) 0);
      }
      int n = Math.min(len, pt.length - fill);
      System.arraycopy(b, off, pt, fill, n);
      fill += n;
      off += n;
      len -= n;
    }
  }

  private void sealAndWrite(boolean fin) throws IOException {
    ensureHeader();
    if (index > MAX_FRAMES) {
      throw new IOException("message exceeds the maximum number of frames");
    }
    guard.beforeFrame(fill);
    if (ct.length < fill + TAG_LENGTH) {
      ct = new byte[fill == frameSize ? frameSize + TAG_LENGTH : fill + TAG_LENGTH];
    }
    int n =
        FrameCipher.seal(key, header, 0, boundLength, messageAad, index, fin, pt, 0, fill, ct, 0);
    out.write(ct, 0, n);
    index++;
    fill = 0;
  }

  /** Flushes the underlying stream; bytes of an incomplete frame stay buffered. */
  @Override
  public void flush() throws IOException {
    out.flush();
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (failed) {
        throw new IOException("an earlier write failed; the message is incomplete");
      }
      sealAndWrite(true);
      out.flush();
    } finally {
      Arrays.fill(pt, (byte) 0);
      key.release();
      out.close();
    }
  }
}
