package com.panops.crypto;

import java.util.Arrays;
import java.util.Map;

/**
 * The key context: a few coarse, low-cardinality pairs (data class, purpose) that are sent to KMS
 * as the encryption context of every {@code GenerateDataKey} and {@code Decrypt}, appear in the
 * customer's CloudTrail, and are part of every data-key cache key. Keep it coarse: one cached data
 * key serves every message with the same key context. Per-object or per-row binding belongs in
 * {@link MessageAad}, which is never sent to KMS.
 *
 * <p>The library adds {@code panops:tenant=<tenant id>} to the encryption context it sends to KMS;
 * keys starting with {@code aws} or {@code panops:} are reserved. Limits: at most 8 pairs, keys
 * 1..128 UTF-8 bytes, values 1..256 UTF-8 bytes, 2048 bytes encoded.
 *
 * <p>Immutable and thread-safe. Not secret: {@link #toString()} shows the pairs.
 */
public final class KeyContext {
  static final int MAX_ENCODED = 2048;
  private static final KeyContext EMPTY = new KeyContext(Map.of());

  private final Map<String, String> pairs;
  final byte[] canonical;
  private final int hash;

  private KeyContext(Map<String, String> pairs) {
    Map<String, String> sorted = CanonicalPairs.copyOf(pairs);
    for (String k : sorted.keySet()) {
      String lower = k.toLowerCase(java.util.Locale.ROOT);
      if (lower.startsWith("aws") || lower.startsWith("panops:")) {
        throw new IllegalArgumentException("key context key is reserved: " + k);
      }
    }
    this.pairs = sorted;
    this.canonical = CanonicalPairs.encode(sorted, "key context", 8, 128, 256, MAX_ENCODED, false);
    this.hash = Arrays.hashCode(canonical);
  }

  /** The empty key context. */
  public static KeyContext empty() {
    return EMPTY;
  }

  /**
   * A key context of {@code key, value, key, value, ...}.
   *
   * @throws IllegalArgumentException on an odd count, a null, a duplicate or reserved key, or a
   *     limit exceeded
   */
  public static KeyContext of(String... keysAndValues) {
    return new KeyContext(CanonicalPairs.fromVarargs(keysAndValues));
  }

  /** A key context holding a copy of {@code pairs}. */
  public static KeyContext from(Map<String, String> pairs) {
    return new KeyContext(pairs);
  }

  /**
   * The key context whose canonical encoding is {@code canonical}, or {@code null} if those bytes
   * are not exactly the canonical encoding of a valid key context (a registry row that was
   * altered).
   */
  static KeyContext fromCanonical(byte[] canonical) {
    java.util.Map<String, String> m = CanonicalPairs.decode(canonical);
    if (m == null) {
      return null;
    }
    KeyContext kc;
    try {
      kc = from(m);
    } catch (IllegalArgumentException e) {
      return null;
    }
    return Arrays.equals(kc.canonical, canonical) ? kc : null;
  }

  /** The pairs, sorted, unmodifiable. */
  public Map<String, String> asMap() {
    return pairs;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyContext && Arrays.equals(canonical, ((KeyContext) o).canonical);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    return "KeyContext" + pairs;
  }
}
