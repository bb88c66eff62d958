package com.panops.crypto.format;

import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/**
 * An {@link InputStream} whose every read is a bulk read: the single-byte {@code read()} reads one
 * byte through {@link #readChecked}, and the bounds of a bulk read are checked once, here. The
 * streams of this library (decrypting, encrypting, the S3 adapter's plaintext) share it.
 */
public abstract class BulkInputStream extends InputStream {
  /** For subclasses. */
  protected BulkInputStream() {}

  @Override
  public final int read() throws IOException {
    byte[] one = new byte[1];
    int n = readChecked(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public final int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    return readChecked(b, off, len);
  }

  /**
   * Reads up to {@code len} bytes into {@code b} at {@code off}, as {@link #read(byte[], int,
   * int)}; the range is already checked against {@code b}.
   */
  protected abstract int readChecked(byte[] b, int off, int len) throws IOException;
}
