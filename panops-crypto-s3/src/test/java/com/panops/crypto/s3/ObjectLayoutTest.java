package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.format.FrameGeometry;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ObjectLayoutTest {
  @Test
  void noMarker_meansPlaintext() {
    assertNull(ObjectLayout.of(Map.of("owner", "x")));
    assertNull(ObjectLayout.of(null));
  }

  @Test
  void plaintextLength_isComputedFromTheStoredLength_andCheckedAgainstTheRecordedOne() {
    for (long p : new long[] {0, 1, 4095, 4096, 4097, 1_000_000}) {
      long c = FrameGeometry.of(250, 4096).ciphertextLength(p);
      assertEquals(p, ObjectLayout.of(ObjectLayout.metadataFor(250, 4096, p)).plaintextLength(c));
      assertEquals(p, ObjectLayout.of(ObjectLayout.metadataFor(250, 4096, -1)).plaintextLength(c));
      ObjectLayout wrong = ObjectLayout.of(ObjectLayout.metadataFor(250, 4096, p + 1));
      assertThrows(S3IntegrityException.class, () -> wrong.plaintextLength(c));
    }
  }

  @Test
  void lengthsNoValidObjectHas_areIntegrityFailures() {
    ObjectLayout l = ObjectLayout.of(ObjectLayout.metadataFor(250, 4096, -1));
    assertThrows(S3IntegrityException.class, () -> l.plaintextLength(250 + 15));
    assertThrows(S3IntegrityException.class, () -> l.plaintextLength(250 + 4112 + 16));
    assertThrows(S3IntegrityException.class, () -> l.plaintextLength(10));
  }

  @Test
  void malformedOrUnknownMetadata_isAnIntegrityFailure() {
    for (String[] kv :
        new String[][] {
          {"panops-format", "2"},
          {"panops-header-length", "0"},
          {"panops-header-length", "99999"},
          {"panops-header-length", "12a"},
          {"panops-frame-size", "100"},
          {"panops-frame-size", ""},
          {"panops-plaintext-length", "-5"},
        }) {
      Map<String, String> md = new HashMap<>(ObjectLayout.metadataFor(250, 4096, 10));
      md.put(kv[0], kv[1]);
      assertThrows(S3IntegrityException.class, () -> ObjectLayout.of(md), kv[0] + "=" + kv[1]);
    }
    Map<String, String> missing = new HashMap<>(ObjectLayout.metadataFor(250, 4096, 10));
    missing.remove("panops-frame-size");
    assertThrows(S3IntegrityException.class, () -> ObjectLayout.of(missing));
  }

  @Test
  void adapterKeys_areReservedAndStrippedCaseInsensitively() {
    assertTrue(ObjectLayout.isReserved("Panops-Format"));
    assertFalse(ObjectLayout.isReserved("owner"));
    Map<String, String> md = new HashMap<>(ObjectLayout.metadataFor(250, 4096, 10));
    md.put("owner", "x");
    assertEquals(Map.of("owner", "x"), ObjectLayout.userMetadata(md));
  }
}
