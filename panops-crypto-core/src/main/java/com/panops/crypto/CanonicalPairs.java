package com.panops.crypto;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The canonical encoding of a set of string pairs, shared by {@link KeyContext} and {@link
 * MessageAad} (see docs/FORMAT.md, "Pairs"): {@code u16 count}, then per pair in ascending order of
 * the key's UTF-8 bytes (unsigned): {@code u16 keyLength, key, u16 valueLength, value}.
 */
final class CanonicalPairs {
  private CanonicalPairs() {}

  private static final java.util.Comparator<String> ORDER = CanonicalPairs::compareUtf8;

  static Map<String, String> copyOf(Map<String, String> pairs) {
    if (pairs == null) {
      throw new IllegalArgumentException("pairs must not be null");
    }
    if (pairs instanceof TreeMap && ((TreeMap<String, String>) pairs).comparator() == ORDER) {
      return Collections.unmodifiableMap(pairs); // built by fromVarargs: already sorted and checked
    }
    TreeMap<String, String> sorted = new TreeMap<>(ORDER);
    for (Map.Entry<String, String> e : pairs.entrySet()) {
      if (e.getKey() == null || e.getValue() == null) {
        throw new IllegalArgumentException("keys and values must not be null");
      }
      sorted.put(e.getKey(), e.getValue());
    }
    return Collections.unmodifiableMap(sorted);
  }

  static Map<String, String> fromVarargs(String... keysAndValues) {
    if (keysAndValues == null || keysAndValues.length % 2 != 0) {
      throw new IllegalArgumentException("expected key, value, key, value, ...");
    }
    TreeMap<String, String> map = new TreeMap<>(ORDER);
    for (int i = 0; i < keysAndValues.length; i += 2) {
      String k = keysAndValues[i];
      String v = keysAndValues[i + 1];
      if (k == null || v == null) {
        throw new IllegalArgumentException("keys and values must not be null");
      }
      if (map.put(k, v) != null) {
        throw new IllegalArgumentException("duplicate key: " + k);
      }
    }
    return map;
  }

  /**
   * Encodes and validates. {@code what} names the kind in error messages.
   *
   * @throws IllegalArgumentException if a limit is exceeded
   */
  static byte[] encode(
      Map<String, String> sorted,
      String what,
      int maxPairs,
      int maxKeyBytes,
      int maxValueBytes,
      int maxTotal,
      boolean allowEmptyValues) {
    if (sorted.size() > maxPairs) {
      throw new IllegalArgumentException(what + " has more than " + maxPairs + " pairs");
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(64);
    writeU16(out, sorted.size());
    for (Map.Entry<String, String> e : sorted.entrySet()) {
      requireWellFormed(e.getKey(), what, "key");
      requireWellFormed(e.getValue(), what, "value");
      byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
      byte[] v = e.getValue().getBytes(StandardCharsets.UTF_8);
      if (k.length == 0 || k.length > maxKeyBytes) {
        throw new IllegalArgumentException(
            what + " key must be 1.." + maxKeyBytes + " UTF-8 bytes: " + e.getKey());
      }
      if ((!allowEmptyValues && v.length == 0) || v.length > maxValueBytes) {
        throw new IllegalArgumentException(
            what
                + " value of "
                + e.getKey()
                + " must be "
                + (allowEmptyValues ? 0 : 1)
                + ".."
                + maxValueBytes
                + " UTF-8 bytes");
      }
      writeU16(out, k.length);
      out.write(k, 0, k.length);
      writeU16(out, v.length);
      out.write(v, 0, v.length);
    }
    if (out.size() > maxTotal) {
      throw new IllegalArgumentException(what + " encodes to more than " + maxTotal + " bytes");
    }
    return out.toByteArray();
  }

  /**
   * Refuses malformed UTF-16 (a lone surrogate): Java's UTF-8 encoder would turn it into {@code
   * '?'}, so two different strings would encode the same and the encoding would not be one to one.
   */
  static void requireWellFormed(String s, String what, String part) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
          continue;
        }
        throw new IllegalArgumentException(what + " " + part + " is not well-formed UTF-16");
      }
      if (Character.isLowSurrogate(c)) {
        throw new IllegalArgumentException(what + " " + part + " is not well-formed UTF-16");
      }
    }
  }

  /** The pairs of an encoding, or {@code null} if it is not well-formed (no trailing bytes). */
  static Map<String, String> decode(byte[] b) {
    if (b == null || b.length < 2) {
      return null;
    }
    int n = ((b[0] & 0xFF) << 8) | (b[1] & 0xFF);
    int p = 2;
    java.util.LinkedHashMap<String, String> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String[] kv = new String[2];
      for (int j = 0; j < 2; j++) {
        if (p + 2 > b.length) {
          return null;
        }
        int len = ((b[p] & 0xFF) << 8) | (b[p + 1] & 0xFF);
        p += 2;
        if (p + len > b.length) {
          return null;
        }
        kv[j] = new String(b, p, len, StandardCharsets.UTF_8);
        p += len;
      }
      if (m.put(kv[0], kv[1]) != null) {
        return null;
      }
    }
    return p == b.length ? m : null;
  }

  private static void writeU16(ByteArrayOutputStream out, int v) {
    out.write(v >>> 8);
    out.write(v);
  }

  /**
   * Orders as the unsigned comparison of the strings' UTF-8 bytes would, without encoding them:
   * UTF-8 preserves code point order, so comparing code points is the same order. (Comparing UTF-16
   * code units, as {@link String#compareTo} does, would not be: it puts U+E000..U+FFFF after
   * supplementary characters.) Called for every pair of every message AAD, so it must not allocate.
   */
  static int compareUtf8(String a, String b) {
    int i = 0;
    int j = 0;
    while (i < a.length() && j < b.length()) {
      int ca = a.codePointAt(i);
      int cb = b.codePointAt(j);
      if (ca != cb) {
        return Integer.compare(ca, cb);
      }
      i += Character.charCount(ca);
      j += Character.charCount(cb);
    }
    return Integer.compare(a.length() - i, b.length() - j);
  }
}
