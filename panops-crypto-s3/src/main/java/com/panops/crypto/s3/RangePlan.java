package com.panops.crypto.s3;

import com.panops.crypto.format.FrameGeometry;
import java.util.Locale;

/**
 * The arithmetic of ranged reads: a {@code Range} header in plaintext terms, resolved against the
 * object's plaintext length, mapped to the frames that hold it and their ciphertext byte range.
 * Pure functions, no I/O; where the frames lie is {@link FrameGeometry}'s answer.
 *
 * <p>A plaintext range {@code [s, e]} needs the frames holding {@code s} and {@code e} and every
 * frame between, read as one ciphertext byte range; after decryption the first {@code s} minus the
 * first frame's plaintext offset bytes are skipped and {@code e - s + 1} kept.
 */
final class RangePlan {
  /** First plaintext byte served, inclusive. */
  final long start;

  /** Last plaintext byte served, inclusive. */
  final long end;

  final long firstFrame;
  final long lastFrame;

  /** First and last ciphertext byte of the frames, inclusive (offsets in the whole object). */
  final long ciphertextStart;

  final long ciphertextEnd;

  /** Plaintext bytes of the first frame to skip. */
  final long skip;

  private RangePlan(
      long start, long end, long firstFrame, long lastFrame, long ctStart, long ctEnd, long skip) {
    this.start = start;
    this.end = end;
    this.firstFrame = firstFrame;
    this.lastFrame = lastFrame;
    this.ciphertextStart = ctStart;
    this.ciphertextEnd = ctEnd;
    this.skip = skip;
  }

  /** Number of plaintext bytes served. */
  long length() {
    return end - start + 1;
  }

  /** The {@code Content-Range} value in plaintext terms. */
  String contentRange(long plaintextLength) {
    return "bytes " + start + "-" + end + "/" + plaintextLength;
  }

  /**
   * Plans the read of plaintext bytes {@code [start, end]} of an object of {@code ciphertextLength}
   * bytes laid out as {@code geometry} says.
   */
  static RangePlan of(long start, long end, FrameGeometry geometry, long ciphertextLength) {
    if (start < 0 || end < start) {
      throw new IllegalArgumentException("bad range plan");
    }
    long first = geometry.frameIndexOf(start);
    long last = geometry.frameIndexOf(end);
    long ctStart = geometry.frameOffset(first);
    long ctEnd = geometry.frameEnd(last, ciphertextLength) - 1;
    if (ctEnd < ctStart) {
      throw new IllegalArgumentException("range beyond the object");
    }
    return new RangePlan(
        start, end, first, last, ctStart, ctEnd, start - geometry.plaintextOffsetOf(first));
  }

  /**
   * A {@code Range} header value, {@code bytes=a-b}, {@code bytes=a-} or {@code bytes=-n}. Multiple
   * ranges are not supported. Made by {@link #parse}.
   *
   * @param first the first byte of {@code bytes=a-} or {@code bytes=a-b}, else -1
   * @param last the last byte of {@code bytes=a-b}, else -1
   * @param suffix the length of {@code bytes=-n}, else -1
   */
  record Request(long first, long last, long suffix) {

    /**
     * Parses a {@code Range} header value.
     *
     * @throws IllegalArgumentException if it is malformed, not in bytes, has several ranges, or has
     *     {@code a > b}
     */
    static Request parse(String header) {
      if (header == null) {
        throw new IllegalArgumentException("no range");
      }
      String h = header.trim();
      if (!h.toLowerCase(Locale.ROOT).startsWith("bytes=")) {
        throw new IllegalArgumentException("range must be in bytes: " + header);
      }
      String spec = h.substring(6).trim();
      if (spec.contains(",")) {
        throw new IllegalArgumentException("multiple ranges are not supported: " + header);
      }
      int dash = spec.indexOf('-');
      if (dash < 0 || spec.indexOf('-', dash + 1) >= 0) {
        throw new IllegalArgumentException("malformed range: " + header);
      }
      String a = spec.substring(0, dash).trim();
      String b = spec.substring(dash + 1).trim();
      if (a.isEmpty()) {
        return new Request(-1, -1, number(b, header));
      }
      long first = number(a, header);
      if (b.isEmpty()) {
        return new Request(first, -1, -1);
      }
      long last = number(b, header);
      if (last < first) {
        throw new IllegalArgumentException("malformed range (end before start): " + header);
      }
      return new Request(first, last, -1);
    }

    private static long number(String s, String header) {
      if (s.isEmpty() || s.length() > 18) {
        throw new IllegalArgumentException("malformed range: " + header);
      }
      for (int i = 0; i < s.length(); i++) {
        if (s.charAt(i) < '0' || s.charAt(i) > '9') {
          throw new IllegalArgumentException("malformed range: " + header);
        }
      }
      return Long.parseLong(s);
    }

    /**
     * The inclusive {@code [start, end]} this range selects from {@code length} bytes, as HTTP does
     * (an end past the last byte is clamped, a suffix longer than the object selects all of it), or
     * {@code null} if it is unsatisfiable (starts at or past the end, an empty suffix, an empty
     * object).
     */
    long[] resolve(long length) {
      if (length <= 0) {
        return null;
      }
      if (suffix >= 0) {
        if (suffix == 0) {
          return null;
        }
        return new long[] {Math.max(0, length - suffix), length - 1};
      }
      if (first >= length) {
        return null;
      }
      long e = last < 0 ? length - 1 : Math.min(last, length - 1);
      return new long[] {first, e};
    }

    @Override
    public String toString() {
      if (suffix >= 0) {
        return "bytes=-" + suffix;
      }
      return "bytes=" + first + "-" + (last < 0 ? "" : Long.toString(last));
    }
  }
}
