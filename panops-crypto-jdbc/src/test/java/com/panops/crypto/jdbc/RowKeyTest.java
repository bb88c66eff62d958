package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigInteger;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class RowKeyTest {
  @Test
  void equalValues_giveOneKey_whateverTheirJavaType() {
    assertEquals(RowKey.of(42), RowKey.of(42L));
    assertEquals(RowKey.of(42L), RowKey.of(BigInteger.valueOf(42)));
    UUID u = UUID.fromString("6F1C1E6A-0000-4000-8000-00000000ABCD");
    assertEquals(RowKey.of(u), RowKey.of(UUID.fromString(u.toString().toLowerCase())));
  }

  @Test
  void differentTuples_neverCollide() {
    assertNotEquals(RowKey.of("a|b", "c"), RowKey.of("a", "b|c"));
    assertNotEquals(RowKey.of("ab", "c"), RowKey.of("a", "bc"));
    assertNotEquals(RowKey.of("42"), RowKey.of(42));
    assertNotEquals(RowKey.of(1, 23), RowKey.of(12, 3));
    assertNotEquals(RowKey.of("s1:x"), RowKey.of("x"));
  }

  @Test
  void unsupportedOrMissingParts_areRefused() {
    assertThrows(IllegalArgumentException.class, () -> RowKey.of());
    assertThrows(IllegalArgumentException.class, () -> RowKey.of("a", null));
    assertThrows(IllegalArgumentException.class, () -> RowKey.of(1.5d));
  }
}
