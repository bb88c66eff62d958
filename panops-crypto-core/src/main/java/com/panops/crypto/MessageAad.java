package com.panops.crypto;

import java.util.Arrays;
import java.util.Map;

/**
 * The message AAD: fine-grained pairs that bind one ciphertext to where it lives (bucket and object
 * key; table, column and row key). Authenticated inside the message and never sent to KMS, so it
 * may be as specific as needed without hurting the data-key cache. A ciphertext presented with
 * other pairs than it was made with fails with {@link IntegrityException}.
 *
 * <p>Limits: at most 64 pairs, keys 1..256 UTF-8 bytes, values 0..4096 UTF-8 bytes, 16384 bytes
 * encoded. Immutable and thread-safe. {@link #toString()} shows only the keys, since values (an
 * object key, a row id) may be sensitive.
 */
public final class MessageAad {
  private static final MessageAad EMPTY = new MessageAad(Map.of());

  private final Map<String, String> pairs;
  final byte[] canonical;

  private MessageAad(Map<String, String> pairs) {
    this.pairs = CanonicalPairs.copyOf(pairs);
    this.canonical = CanonicalPairs.encode(this.pairs, "message AAD", 64, 256, 4096, 16384, true);
  }

  /** No message AAD. */
  public static MessageAad empty() {
    return EMPTY;
  }

  /**
   * Message AAD of {@code key, value, key, value, ...}.
   *
   * @throws IllegalArgumentException on an odd count, a null, a duplicate key or a limit exceeded
   */
  public static MessageAad of(String... keysAndValues) {
    return new MessageAad(CanonicalPairs.fromVarargs(keysAndValues));
  }

  /** Message AAD holding a copy of {@code pairs}. */
  public static MessageAad from(Map<String, String> pairs) {
    return new MessageAad(pairs);
  }

  /** The pairs, sorted, unmodifiable. */
  public Map<String, String> asMap() {
    return pairs;
  }

  /** A new message AAD with {@code other}'s pairs added; a key present in both is refused. */
  public MessageAad with(MessageAad other) {
    java.util.TreeMap<String, String> merged = new java.util.TreeMap<>(pairs);
    for (Map.Entry<String, String> e : other.pairs.entrySet()) {
      if (merged.put(e.getKey(), e.getValue()) != null) {
        throw new IllegalArgumentException("duplicate message AAD key: " + e.getKey());
      }
    }
    return new MessageAad(merged);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof MessageAad && Arrays.equals(canonical, ((MessageAad) o).canonical);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(canonical);
  }

  @Override
  public String toString() {
    return "MessageAad" + pairs.keySet();
  }
}
