package com.panops.crypto.s3;

import com.panops.crypto.format.BulkInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The plaintext handed to the caller: the core's decrypting stream, with the core's unchecked
 * exceptions mapped to the adapter's ({@link Errors#map}), and for ranged reads the first {@code
 * skip} bytes dropped and the stream cut after {@code limit} bytes. Bytes come only from frames the
 * core has authenticated, so skipping reads (and authenticates) the skipped part too.
 */
final class PlaintextStream extends BulkInputStream {
  private final InputStream in;
  private final Runnable onClose;
  private long skip;
  private long remaining;

  /**
   * @param limit bytes to return after the skip, or -1 for all
   * @param onClose run after {@code in} is closed (releases the HTTP connection)
   */
  PlaintextStream(InputStream in, long skip, long limit, Runnable onClose) {
    this.in = in;
    this.skip = skip;
    this.remaining = limit;
    this.onClose = onClose;
  }

  @Override
  protected int readChecked(byte[] b, int off, int len) throws IOException {
    try {
      while (skip > 0) {
        long s = in.skip(skip);
        if (s <= 0) {
          if (in.read() < 0) {
            throw Errors.integrity(); // the frames ended before the range started
          }
          s = 1;
        }
        skip -= s;
      }
      if (len == 0) {
        return 0;
      }
      if (remaining == 0) {
        return -1;
      }
      int want = remaining < 0 ? len : (int) Math.min(len, remaining);
      int n = in.read(b, off, want);
      if (n < 0) {
        if (remaining > 0) {
          throw Errors.integrity(); // fewer bytes than the range promised
        }
        return -1;
      }
      if (remaining > 0) {
        remaining -= n;
      }
      return n;
    } catch (RuntimeException e) {
      throw Errors.map(e);
    }
  }

  @Override
  public long skip(long n) throws IOException {
    if (n <= 0) {
      return 0;
    }
    byte[] scratch = new byte[(int) Math.min(n, 8192)];
    long done = 0;
    while (done < n) {
      int r = read(scratch, 0, (int) Math.min(scratch.length, n - done));
      if (r < 0) {
        break;
      }
      done += r;
    }
    return done;
  }

  @Override
  public int available() throws IOException {
    try {
      int a = skip > 0 ? 0 : in.available();
      return remaining < 0 ? a : (int) Math.min(a, remaining);
    } catch (RuntimeException e) {
      throw Errors.map(e);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      in.close();
    } finally {
      onClose.run();
    }
  }
}
