package com.panops.crypto.benchmarks;

import java.io.OutputStream;
import java.util.Arrays;

/** An in-memory sink whose buffer is reused across operations; {@link #close()} does nothing. */
final class ReusableOutputStream extends OutputStream {
  private byte[] buf;
  private int count;

  ReusableOutputStream(int capacity) {
    this.buf = new byte[capacity];
  }

  void reset() {
    count = 0;
  }

  int size() {
    return count;
  }

  @Override
  public void write(int b) {
    ensure(1);
    buf[count++] = (byte) b;
  }

  @Override
  public void write(byte[] b, int off, int len) {
    ensure(len);
    System.arraycopy(b, off, buf, count, len);
    count += len;
  }

  private void ensure(int n) {
    if (count + n > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, count + n));
    }
  }

  @Override
  public void close() {}
}
