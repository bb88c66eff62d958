package com.panops.crypto.s3;

import java.io.InputStream;

/**
 * A deterministic, non-repeating-looking stream of {@code length} bytes (xorshift64 from a seed),
 * so a large body never has to exist as an array: the same seed gives the same bytes.
 */
final class PatternStream extends InputStream {
  private long state;
  private long remaining;
  private long word;
  private int left;

  PatternStream(long seed, long length) {
    this.state = seed * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
    if (state == 0) {
      state = 1;
    }
    this.remaining = length;
  }

  private int next() {
    if (left == 0) {
      state ^= state << 13;
      state ^= state >>> 7;
      state ^= state << 17;
      word = state;
      left = 8;
    }
    int b = (int) (word & 0xFF);
    word >>>= 8;
    left--;
    return b;
  }

  @Override
  public int read() {
    if (remaining <= 0) {
      return -1;
    }
    remaining--;
    return next();
  }

  @Override
  public int read(byte[] b, int off, int len) {
    if (len == 0) {
      return 0;
    }
    if (remaining <= 0) {
      return -1;
    }
    int n = (int) Math.min(len, remaining);
    for (int i = 0; i < n; i++) {
      b[off + i] = (byte) next();
    }
    remaining -= n;
    return n;
  }
}
