package com.panops.crypto.s3;

import static com.panops.crypto.format.MessageFormat.MAX_HEADER_LENGTH;

import com.panops.crypto.format.FrameGeometry;
import com.panops.crypto.format.MessageHeader;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The adapter's user metadata on an encrypted object ({@code x-amz-meta-*}), and its checks.
 *
 * <pre>
 * panops-format           "1"   the object body is one panops message (layout version 1)
 * panops-header-length    decimal, the message header's length
 * panops-frame-size       decimal, plaintext bytes per frame
 * panops-plaintext-length decimal, when the length was known at upload (absent otherwise)
 * </pre>
 *
 * <p>None of these is trusted: each is checked against the header parsed from the object and the
 * ciphertext length S3 reports, and any mismatch is an {@link S3IntegrityException} raised before a
 * byte is decrypted. They exist so that {@code headObject} can report the plaintext length without
 * reading the object, and so that tools can tell an encrypted object by its metadata.
 *
 * @param geometry the header length and frame size recorded
 * @param recordedPlaintextLength the plaintext length recorded, or -1 when not recorded
 */
record ObjectLayout(FrameGeometry geometry, long recordedPlaintextLength) {
  static final String FORMAT = "panops-format";
  static final String HEADER_LENGTH = "panops-header-length";
  static final String FRAME_SIZE = "panops-frame-size";
  static final String PLAINTEXT_LENGTH = "panops-plaintext-length";
  static final String FORMAT_V1 = "1";

  /** Whether {@code key} is one of the adapter's metadata keys (case-insensitive). */
  static boolean isReserved(String key) {
    return key.toLowerCase(Locale.ROOT).startsWith("panops-");
  }

  /**
   * The layout recorded in {@code metadata}, or {@code null} if the object carries no panops marker
   * (a plaintext object).
   *
   * @throws S3IntegrityException if the marker is present but the rest is malformed or of an
   *     unknown version
   */
  static ObjectLayout of(Map<String, String> metadata) {
    Map<String, String> md = lower(metadata);
    String format = md.get(FORMAT);
    if (format == null) {
      return null;
    }
    if (!FORMAT_V1.equals(format)) {
      throw Errors.integrity();
    }
    long h = number(md.get(HEADER_LENGTH));
    long f = number(md.get(FRAME_SIZE));
    String p = md.get(PLAINTEXT_LENGTH);
    long pl = p == null ? -1 : number(p);
    if (h < 1
        || h > MAX_HEADER_LENGTH
        || !FrameGeometry.isValidFrameSize(f)
        || (p != null && pl < 0)) {
      throw Errors.integrity();
    }
    return new ObjectLayout(FrameGeometry.of((int) h, (int) f), pl);
  }

  /** The metadata to store for a message with this header (and plaintext length, or -1). */
  static Map<String, String> metadataFor(int headerLength, int frameSize, long plaintextLength) {
    Map<String, String> m = new TreeMap<>();
    m.put(FORMAT, FORMAT_V1);
    m.put(HEADER_LENGTH, Integer.toString(headerLength));
    m.put(FRAME_SIZE, Integer.toString(frameSize));
    if (plaintextLength >= 0) {
      m.put(PLAINTEXT_LENGTH, Long.toString(plaintextLength));
    }
    return m;
  }

  /** {@code metadata} without the adapter's keys. */
  static Map<String, String> userMetadata(Map<String, String> metadata) {
    Map<String, String> m = new HashMap<>();
    if (metadata != null) {
      metadata.forEach(
          (k, v) -> {
            if (!isReserved(k)) {
              m.put(k, v);
            }
          });
    }
    return m;
  }

  /**
   * Checks this layout against the header parsed from the object and the ciphertext length S3
   * reports, and returns the plaintext length.
   *
   * @throws S3IntegrityException on any mismatch
   */
  long check(MessageHeader header, long ciphertextLength) {
    if (!header.geometry().equals(geometry)) {
      throw Errors.integrity();
    }
    return plaintextLength(ciphertextLength);
  }

  /**
   * The plaintext length of an object of {@code ciphertextLength} bytes with this layout, checked
   * against the recorded plaintext length if there is one. Not authenticated: see the README.
   *
   * @throws S3IntegrityException if no valid object has that length, or it disagrees
   */
  long plaintextLength(long ciphertextLength) {
    long p = geometry.plaintextLengthOfMessage(ciphertextLength);
    if (p < 0 || (recordedPlaintextLength >= 0 && recordedPlaintextLength != p)) {
      throw Errors.integrity();
    }
    return p;
  }

  private static long number(String s) {
    if (s == null || s.isEmpty() || s.length() > 18) {
      throw Errors.integrity();
    }
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        throw Errors.integrity();
      }
    }
    return Long.parseLong(s);
  }

  private static Map<String, String> lower(Map<String, String> metadata) {
    Map<String, String> m = new HashMap<>();
    if (metadata != null) {
      metadata.forEach((k, v) -> m.put(k.toLowerCase(Locale.ROOT), v));
    }
    return m;
  }
}
