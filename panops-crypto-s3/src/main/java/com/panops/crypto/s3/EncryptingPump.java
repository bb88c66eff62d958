package com.panops.crypto.s3;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.MessageHeader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * Turns the core's push-style encrypting {@link OutputStream} into a pull-style ciphertext {@link
 * InputStream}, the shape an S3 request body needs: each {@code read} pulls a chunk of plaintext
 * from the source, pushes it through the encrypting stream into a small queue, and hands out what
 * the queue holds. No thread, no pipe. Memory: one 16 KiB chunk plus what one write can emit (the
 * header and a frame), whatever the object size.
 *
 * <p>{@link #header()} pumps until the message header has been emitted (the first frame is sealed
 * when the frame fills or the source ends) and parses it, so the caller knows the header length and
 * frame size, and from them the exact ciphertext length, before the upload starts.
 *
 * <p>If a plaintext length was declared, a source that yields more or fewer bytes fails with an
 * {@link IOException} (the upload is then aborted). Not thread-safe.
 */
final class EncryptingPump extends InputStream {
  private static final int CHUNK = 16 * 1024;

  private final InputStream source;
  private final long declared;
  private final OutputStream encryptor;
  private final Queue queue = new Queue();
  private final byte[] chunk = new byte[CHUNK];
  private long plaintextRead;
  private boolean finished;
  private MessageHeader header;
  private byte[] headerBytes;

  /**
   * @param declared the plaintext length the source must yield, or -1 if unknown
   */
  EncryptingPump(
      TenantCrypto tenant, InputStream source, long declared, KeyContext kc, MessageAad aad) {
    this.source = source;
    this.declared = declared;
    this.encryptor = tenant.encryptingStream(queue, kc, aad);
  }

  /** Pumps until the header is out and returns it (parsed from the queued ciphertext). */
  MessageHeader header() throws IOException {
    while (header == null) {
      if (!pump()) {
        break;
      }
    }
    if (header == null) {
      throw new IllegalStateException("the encrypting stream emitted no header");
    }
    return header;
  }

  /** A copy of the header bytes; only after {@link #header()}. */
  byte[] headerBytes() {
    return headerBytes.clone();
  }

  /** Plaintext bytes consumed from the source so far. */
  long plaintextRead() {
    return plaintextRead;
  }

  private boolean pump() throws IOException {
    if (finished) {
      return false;
    }
    int n = source.read(chunk, 0, chunk.length);
    if (n < 0) {
      if (declared >= 0 && plaintextRead != declared) {
        throw new IOException(
            "request body ended after " + plaintextRead + " of " + declared + " declared bytes");
      }
      finished = true;
      encryptor.close(); // seals the final frame
    } else if (n > 0) {
      plaintextRead += n;
      if (declared >= 0 && plaintextRead > declared) {
        throw new IOException("request body is longer than its declared " + declared + " bytes");
      }
      encryptor.write(chunk, 0, n);
    }
    Arrays.fill(chunk, 0, Math.max(n, 0), (byte) 0);
    if (header == null && queue.size() > 0) {
      MessageHeader h = TenantCrypto.parseHeader(queue.buf, queue.start, queue.size());
      headerBytes = h.toByteArray();
      header = MessageHeader.parse(headerBytes, 0, headerBytes.length);
    }
    return true;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    java.util.Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    while (queue.size() == 0) {
      if (!pump()) {
        return -1;
      }
    }
    return queue.take(b, off, len);
  }

  @Override
  public int available() {
    return queue.size();
  }

  @Override
  public void close() throws IOException {
    source.close();
  }

  /** A growable byte queue the encrypting stream writes into. */
  private static final class Queue extends OutputStream {
    byte[] buf = new byte[64 * 1024 + 256];
    int start;
    int end;

    int size() {
      return end - start;
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
        buf = target;
        start = 0;
        end = size;
      }
      System.arraycopy(b, off, buf, end, len);
      end += len;
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
  }
}
