package com.panops.crypto.jdbc;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCryptoException;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.MessageFormat;
import com.panops.crypto.format.MessageHeader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * Pull-side encryption: an InputStream of the ciphertext of exactly {@code plaintextLength} bytes
 * read from {@code source}, so the driver can stream a value it is told the length of.
 *
 * <p>The core's encrypting stream is push-side (an OutputStream) and writes its header together
 * with the first sealed frame, so the constructor pumps plaintext until the header appears (at most
 * one frame plus one byte). The header gives its own length and the frame size, and with them the
 * exact ciphertext length: {@code header + plaintext + 16 * frames}, where a message has {@code
 * max(1, ceil(plaintext / frameSize))} frames. From then on memory is about one frame.
 *
 * <p>As JDBC specifies for {@code setBinaryStream(int, InputStream, long)}, exactly {@code
 * plaintextLength} bytes are read from {@code source}; a source that ends early fails with an
 * IOException. Core exceptions raised while reading (a revocation latched mid-stream) become
 * IOExceptions whose cause is the adapter's SQLException, since a driver reading a parameter stream
 * only expects IOExceptions. Not thread-safe.
 */
final class EncryptingInputStream extends InputStream {
  private final InputStream source;
  private final long plaintextLength;
  private final OutputStream encryptor;
  private final String where;
  private final byte[] chunk = new byte[16 * 1024];
  private final long ciphertextLength;
  private byte[] buf = new byte[32 * 1024];
  private int start;
  private int end;
  private long consumed;
  private long emitted;
  private boolean finished;
  private boolean closed;

  EncryptingInputStream(
      TenantCrypto tenant,
      InputStream source,
      long plaintextLength,
      KeyContext keyContext,
      MessageAad aad,
      String where)
      throws IOException {
    this.source = source;
    this.plaintextLength = plaintextLength;
    this.where = where;
    this.encryptor = tenant.encryptingStream(new Sink(), keyContext, aad);
    while (end == 0 && !finished) {
      pump();
    }
    MessageHeader h = TenantCrypto.parseHeader(buf, 0, end);
    long frames = plaintextLength == 0 ? 1 : (plaintextLength + h.frameSize() - 1) / h.frameSize();
    this.ciphertextLength = h.length() + plaintextLength + frames * MessageFormat.TAG_LENGTH;
  }

  /** The exact number of bytes this stream yields. */
  long ciphertextLength() {
    return ciphertextLength;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (closed) {
      throw new IOException("stream closed");
    }
    if (len == 0) {
      return 0;
    }
    while (start == end && !finished) {
      pump();
    }
    if (start == end) {
      if (emitted != ciphertextLength) {
        throw new IllegalStateException(
            "bug: ciphertext length " + emitted + " != computed " + ciphertextLength);
      }
      return -1;
    }
    int n = Math.min(len, end - start);
    System.arraycopy(buf, start, b, off, n);
    start += n;
    if (start == end) {
      start = 0;
      end = 0;
    }
    return n;
  }

  @Override
  public int available() {
    return end - start;
  }

  /** Closes the encryptor if unfinished (the message is then incomplete); not the source. */
  @Override
  public void close() {
    Arrays.fill(buf, (byte) 0);
    Arrays.fill(chunk, (byte) 0);
    start = 0;
    end = 0;
    closed = true;
  }

  private void pump() throws IOException {
    try {
      if (consumed < plaintextLength) {
        int want = (int) Math.min(chunk.length, plaintextLength - consumed);
        int n = source.read(chunk, 0, want);
        if (n < 0) {
          throw new IOException(
              where
                  + ": stream ended after "
                  + consumed
                  + " of the "
                  + plaintextLength
                  + " bytes declared");
        }
        encryptor.write(chunk, 0, n);
        consumed += n;
      } else {
        encryptor.close();
        finished = true;
      }
    } catch (PanopsCryptoException e) {
      throw SqlErrors.io(e, where);
    }
  }

  /** Where the encryptor writes: appends to {@code buf}. */
  private final class Sink extends OutputStream {
    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      if (end + len > buf.length) {
        if (start > 0) {
          System.arraycopy(buf, start, buf, 0, end - start);
          end -= start;
          start = 0;
        }
        if (end + len > buf.length) {
          byte[] bigger = Arrays.copyOf(buf, Math.max(buf.length * 2, end + len));
          Arrays.fill(buf, (byte) 0);
          buf = bigger;
        }
      }
      System.arraycopy(b, off, buf, end, len);
      end += len;
      emitted += len;
    }
  }
}
