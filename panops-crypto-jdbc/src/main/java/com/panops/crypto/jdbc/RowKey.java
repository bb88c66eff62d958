package com.panops.crypto.jdbc;

import java.math.BigInteger;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;

/**
 * Canonical row keys for the message AAD ({@code jdbc.row}), so that a writer and a reader that
 * hold the same key values always bind the same string: a free-form string invites mismatches
 * ({@code "42"} or {@code "0042"}, upper- or lower-case UUIDs, {@code "a|b"} joined one way or
 * another for a composite key), and a mismatch only shows later, as an integrity failure.
 *
 * <pre>{@code
 * column.bind(ps, 3, value, RowKey.of(orderId, lineNo));   // composite key: (uuid, int)
 * column.getString(rs, 2, RowKey.of(orderId, lineNo));
 * }</pre>
 *
 * <p>Each part is written as a type letter, its length and its canonical text, so no two different
 * tuples give the same key: {@code s} strings as given; {@code i} integers ({@link Long}, {@link
 * Integer}, {@link Short}, {@link Byte}, {@link BigInteger}) in decimal without leading zeros, so
 * {@code 42}, {@code 42L} and {@code BigInteger.valueOf(42)} are one key; {@code u} UUIDs in lower
 * case. Other types (floating point, dates) are refused: give their canonical string yourself. A
 * key from {@code RowKey.of("42")} is not the plain string {@code "42"}: choose one form per column
 * when it is created and keep it, since changing it means re-encrypting.
 */
public final class RowKey {
  private RowKey() {}

  /**
   * The canonical row key of {@code parts} (one or more).
   *
   * @throws IllegalArgumentException for no parts, a null part, or an unsupported type
   */
  public static String of(Object... parts) {
    Objects.requireNonNull(parts, "parts");
    if (parts.length == 0) {
      throw new IllegalArgumentException("a row key needs at least one part");
    }
    StringBuilder sb = new StringBuilder();
    for (Object p : parts) {
      if (p == null) {
        throw new IllegalArgumentException("a row key part must not be null");
      }
      char type;
      String text;
      if (p instanceof String) {
        type = 's';
        text = (String) p;
      } else if (p instanceof Long
          || p instanceof Integer
          || p instanceof Short
          || p instanceof Byte) {
        type = 'i';
        text = Long.toString(((Number) p).longValue());
      } else if (p instanceof BigInteger) {
        type = 'i';
        text = p.toString();
      } else if (p instanceof UUID) {
        type = 'u';
        text = p.toString().toLowerCase(Locale.ROOT);
      } else {
        throw new IllegalArgumentException(
            "unsupported row key part type "
                + p.getClass().getName()
                + ": use String, an integer type or UUID");
      }
      sb.append(type).append(text.length()).append(':').append(text);
    }
    return sb.toString();
  }
}
