package com.panops.crypto.format;

import static org.junit.jupiter.api.Assertions.*;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.panops.crypto.IntegrityException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Fuzzes the parser and the frame reader with arbitrary bytes: the only exception allowed is {@link
 * IntegrityException}; nothing may allocate out of bounds, hang or release plaintext. Bounded in
 * time (Surefire runs it in fuzzing mode via JAZZER_FUZZ=1).
 */
class MessageParserFuzzTest {
  private static final FrameKey KEY =
      FrameKey.of(new byte[32], MessageFormat.SUITE_AES256_GCM_COMMIT);

  @FuzzTest(maxDuration = "20s")
  void arbitraryBytes_yieldOnlyIntegrityExceptions(byte[] data) throws IOException {
    MessageHeader h;
    try {
      h = MessageHeader.parse(data, 0, data.length);
      h.keyContext();
      h.keyArn();
      h.plaintextLength(data.length);
    } catch (IntegrityException expected) {
      h = null;
    }
    if (h != null) {
      MessageHeader parsed = h;
      try {
        byte[] pt = FrameCipher.decrypt(KEY, parsed, new byte[] {0, 0}, data, 0, data.length);
        fail("random bytes authenticated: " + pt.length);
      } catch (IntegrityException expected) {
        // fine
      }
    }
    try (InputStream in = new ByteArrayInputStream(data)) {
      MessageHeader sh = MessageHeader.read(in);
      try (InputStream dec =
          new DecryptingInputStream(in, KEY, sh, new byte[] {0, 0}, 0, -1, -1, () -> {})) {
        assertEquals(-1, dec.read(), "random bytes authenticated");
      }
    } catch (IntegrityException expected) {
      // fine
    }
  }
}
