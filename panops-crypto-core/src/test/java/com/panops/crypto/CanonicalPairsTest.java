package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CanonicalPairsTest {
  private static String randomString(Random r) {
    int[] pool = {
      'a', 'Z', '0', 0x7F, 0xE9, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0x10000, 0x1F600
    };
    StringBuilder sb = new StringBuilder();
    int n = r.nextInt(5);
    for (int i = 0; i < n; i++) {
      sb.appendCodePoint(pool[r.nextInt(pool.length)]);
    }
    return sb.toString();
  }

  @Test
  void order_isTheUnsignedOrderOfUtf8Bytes_includingSurrogatesAndHighBmp() {
    Random r = new Random(42);
    for (int i = 0; i < 100_000; i++) {
      String a = randomString(r);
      String b = randomString(r);
      int expected =
          Integer.signum(
              Arrays.compareUnsigned(
                  a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8)));
      assertEquals(expected, Integer.signum(CanonicalPairs.compareUtf8(a, b)), a + " vs " + b);
    }
  }

  @Test
  void varargsAndMapConstruction_encodeTheSame() {
    MessageAad a = MessageAad.of("row", "1", "table", "t", "\uE000", "x", "\uD83D\uDE00", "y");
    MessageAad b =
        MessageAad.from(
            java.util.Map.of("\uD83D\uDE00", "y", "table", "t", "row", "1", "\uE000", "x"));
    assertArrayEquals(a.canonical, b.canonical);
    assertEquals(a, b);
  }
}
