package com.panops.crypto.format;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Function;

/**
 * Pull-side encryption: an {@link InputStream} of the ciphertext of the plaintext read from a
 * source, the shape an S3 request body and a JDBC stream parameter need. Each {@code read} pulls a
 * chunk of plaintext, pushes it through the push-side encrypting stream into a small queue, and
 * hands out what the queue holds. No thread, no pipe; memory is one 16 KiB chunk plus what one
 * write can emit (the header and a frame), whatever the size.
 *
 * <p>{@link #header()} pumps until the message header has been emitted (the first frame is sealed
 * when it fills or the source ends), so the caller knows the header length and frame size, and with
 * a declared length the exact ciphertext length, before any byte is sent.
 *
 * <p>How the source is read is the caller's choice of {@link SourceLength}: exactly the declared
 * number of bytes and never more ({@link SourceLength#EXACT}, as JDBC specifies for {@code
 * setBinaryStream(int, InputStream, long)}), or to its end, checked against the declared length if
 * there is one ({@link SourceLength#TO_END}). A source yielding another number of bytes fails with
 * an {@link IOException} and the message stays incomplete (it does not decrypt). {@link #close()}
 * zeroes the buffers and closes the source. Not thread-safe.
 */
public final class EncryptingInputStream extends BulkInputStream {
  private static final int CHUNK = 16 * 1024;

  /** How much of the source is read. */
  public enum SourceLength {
    /** Exactly the declared length; the source is not read past it. */
    EXACT,
    /** To the end of the source; with a declared length, a longer or shorter source fails. */
    TO_END
  }

  private final InputStream source;
  private final long declared;
  private final SourceLength mode;
  private final String what;
  private final OutputStream encryptor;
  private final Queue queue = new Queue();
  private final byte[] chunk = new byte[CHUNK];
  private long plaintextRead;
  private boolean finished;
  private boolean closed;
  private MessageHeader header;

  /**
   * @param encryptor opens the push-side encrypting stream writing into the given sink
   * @param declared the plaintext length the source must yield, or -1 if unknown ({@link
   *     SourceLength#TO_END} only)
   * @param what names the source in error messages (not secret: e.g. "request body")
   */
  public EncryptingInputStream(
      Function<OutputStream, OutputStream> encryptor,
      InputStream source,
      long declared,
      SourceLength mode,
      String what) {
    this.source = Objects.requireNonNull(source, "source");
    this.mode = Objects.requireNonNull(mode, "mode");
    this.what = Objects.requireNonNull(what, "what");
    if (declared < -1 || (declared == -1 && mode == SourceLength.EXACT)) {
      throw new IllegalArgumentException("declared length must be >= 0 (or -1 when read to end)");
    }
    this.declared = declared;
    this.encryptor = encryptor.apply(queue);
  }

  /** Pumps until the header is out and returns it (parsed from a copy of the queued bytes). */
  public MessageHeader header() throws IOException {
    while (header == null && pump()) {
      // pump until the first frame is sealed
    }
    if (header == null) {
      throw new IllegalStateException("the encrypting stream emitted no header");
    }
    return header;
  }

  /** A copy of the header bytes; only after {@link #header()}. */
  public byte[] headerBytes() {
    return header.toByteArray();
  }

  /** The exact number of bytes this stream yields; only after {@link #header()}, with a length. */
  public long ciphertextLength() {
    if (declared < 0) {
      throw new IllegalStateException("no declared length");
    }
    return header.geometry().ciphertextLength(declared);
  }

  /** Plaintext bytes consumed from the source so far. */
  public long plaintextRead() {
    return plaintextRead;
  }

  @Override
  protected int readChecked(byte[] b, int off, int len) throws IOException {
    if (closed) {
      throw new IOException("stream closed");
    }
    if (len == 0) {
      return 0;
    }
    while (queue.size() == 0) {
      if (!pump()) {
        checkEmitted();
        return -1;
      }
    }
    return queue.take(b, off, len);
  }

  @Override
  public int available() {
    return queue.size();
  }

  /** Zeroes the buffers and closes the source; an unfinished message stays incomplete. */
  @Override
  public void close() throws IOException {
    closed = true;
    queue.clear();
    Arrays.fill(chunk, (byte) 0);
    source.close();
  }

  private boolean pump() throws IOException {
    if (finished) {
      return false;
    }
    int want = CHUNK;
    if (mode == SourceLength.EXACT) {
      want = (int) Math.min(CHUNK, declared - plaintextRead);
    }
    int n = want == 0 ? -1 : source.read(chunk, 0, want);
    if (n < 0) {
      if (declared >= 0 && plaintextRead != declared) {
        throw new IOException(
            what + " ended after " + plaintextRead + " of " + declared + " declared bytes");
      }
      finished = true;
      encryptor.close(); // seals the final frame
    } else if (n > 0) {
      plaintextRead += n;
      if (declared >= 0 && plaintextRead > declared) {
        throw new IOException(what + " is longer than its declared " + declared + " bytes");
      }
      encryptor.write(chunk, 0, n);
      Arrays.fill(chunk, 0, n, (byte) 0);
    }
    if (header == null && queue.size() > 0) {
      header = queue.parseHeader();
    }
    return true;
  }

  private void checkEmitted() {
    if (declared >= 0 && queue.emitted != ciphertextLength()) {
      throw new IllegalStateException(
          "ciphertext length " + queue.emitted + " != computed " + ciphertextLength());
    }
  }

  /** A growable byte queue the encrypting stream writes into. */
  private static final class Queue extends OutputStream {
    private byte[] buf = new byte[64 * 1024 + 256];
    private int start;
    private int end;
    long emitted;

    int size() {
      return end - start;
    }

    /** The header at the front of the queue, over a copy of its own bytes. */
    MessageHeader parseHeader() {
      byte[] h = MessageHeader.parse(buf, start, size()).toByteArray();
      return MessageHeader.parse(h, 0, h.length);
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      if (buf.length - end < len) {
        int size = size();
        byte[] target = buf;
        if (buf.length - size < len) {
          target = new byte[Math.max(buf.length * 2, size + len)];
        }
        System.arraycopy(buf, start, target, 0, size);
        if (target != buf) {
          Arrays.fill(buf, (byte) 0);
        }
        buf = target;
        start = 0;
        end = size;
      }
      System.arraycopy(b, off, buf, end, len);
      end += len;
      emitted += len;
    }

    int take(byte[] b, int off, int len) {
      int n = Math.min(len, size());
      System.arraycopy(buf, start, b, off, n);
      start += n;
      if (start == end) {
        start = 0;
        end = 0;
      }
      return n;
    }

    void clear() {
      Arrays.fill(buf, (byte) 0);
      start = 0;
      end = 0;
    }
  }
}
