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
 * <p>Not thread-safe (like any {@code OutputStream}). {@link #close()} writes the final frame and
 * closes the underlying stream; if {@code close()} is never called the message is incomplete and
 * will not decrypt.
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
  private final FrameObserver observer;
  private int fill;
  private long index;
  private boolean headerWritten;
  private boolean closed;

  /** Told of every frame sealed, for usage accounting (bytes and frames under a data key). */
  public interface FrameObserver {
    /** Called before a frame is sealed; may throw to stop the stream (the kill switch). */
    void beforeFrame();

    void sealed(int plaintextBytes);
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
      FrameObserver observer) {
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
    this.observer = observer;
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
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    while (len > 0) {
      if (fill == frameSize) {
        sealAndWrite(false);
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
    observer.beforeFrame();
    if (ct.length < fill + TAG_LENGTH) {
      ct = new byte[fill == frameSize ? frameSize + TAG_LENGTH : fill + TAG_LENGTH];
    }
    int n =
        FrameCipher.seal(key, header, 0, boundLength, messageAad, index, fin, pt, 0, fill, ct, 0);
    observer.sealed(fill);
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
      sealAndWrite(true);
      out.flush();
    } finally {
      Arrays.fill(pt, (byte) 0);
      out.close();
    }
  }
}
