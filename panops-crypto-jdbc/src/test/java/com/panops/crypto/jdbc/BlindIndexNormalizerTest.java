package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class BlindIndexNormalizerTest {
  @Test
  void caseInsensitive_foldsCaseWidthAndSurroundingSpace_inTheRootLocale() {
    BlindIndex.Normalizer n = BlindIndex.Normalizer.caseInsensitive();
    assertEquals("alice@example.com", n.normalize("  Alice@Example.COM\t"));
    assertEquals("alice@example.com", n.normalize("ＡＬＩＣＥ@example.com")); // full-width
    assertEquals("i", n.normalize("I")); // not the Turkish dotless i, whatever the default locale
    assertEquals(n.normalize("e\u0301"), n.normalize("\u00e9")); // composed and decomposed é
    assertNotEquals(n.normalize("a b"), n.normalize("ab")); // inner space is kept
  }

  @Test
  void exact_changesNothing() {
    BlindIndex.Normalizer n = BlindIndex.Normalizer.exact();
    assertEquals(" Alice ", n.normalize(" Alice "));
    assertNotEquals(n.normalize("e\u0301"), n.normalize("\u00e9"));
  }

  @Test
  void nfkc_unifiesCompatibilityForms_only() {
    BlindIndex.Normalizer n = BlindIndex.Normalizer.nfkc();
    assertEquals("fi", n.normalize("\ufb01")); // the ﬁ ligature
    assertEquals("Alice", n.normalize("Alice"));
  }
}
