package com.panops.crypto.s3;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/** One multipart part in memory, grown as it fills, with one byte of look-ahead. */
final class PartBuffer {
  private int capacity;
  private byte[] buf;
  private int size;
  private int lookahead = -1;

  PartBuffer(int capacity, int initial) {
    this.capacity = capacity;
    this.buf = new byte[Math.max(1, Math.min(capacity, initial))];
  }

  /** Sets the size of the next parts (at most {@code S3Path.MAX_PART}). */
  void capacity(long bytes) {
    capacity = (int) Math.min(S3Path.MAX_PART, bytes);
  }

  /** Refills; returns whether more bytes follow this buffer's contents. */
  boolean fill(InputStream in) throws IOException {
    size = 0;
    if (lookahead >= 0) {
      buf[size++] = (byte) lookahead;
      lookahead = -1;
    }
    while (size < capacity) {
      if (size == buf.length) {
        buf = Arrays.copyOf(buf, (int) Math.min(capacity, (long) buf.length * 2));
      }
      int r = in.read(buf, size, buf.length - size);
      if (r < 0) {
        return false;
      }
      size += r;
    }
    lookahead = in.read();
    return lookahead >= 0;
  }

  int size() {
    return size;
  }

  byte[] array() {
    return buf;
  }

  void wipe() {
    Arrays.fill(buf, (byte) 0);
  }
}
