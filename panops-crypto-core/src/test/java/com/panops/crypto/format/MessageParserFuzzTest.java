package com.panops.crypto.format;

import static org.junit.jupiter.api.Assertions.*;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.panops.crypto.IntegrityException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;

/**
 * Fuzzes the parser and the frame reader with arbitrary bytes: the only exception allowed is {@link
 * IntegrityException}; nothing may allocate out of bounds, hang or release plaintext. Bounded in
 * time (Surefire runs it in fuzzing mode via JAZZER_FUZZ=1).
 *
 * <p>The keys are the committed vectors' data keys and the seeds are those vectors, so mutated
 * messages that keep their header pass the key-commitment check and reach the frame code (with an
 * all-zero key, as before, the commitment check refused every input and no frame was ever opened).
 * {@link #theFuzzerReachedTheFrameCode()} proves it did.
 */
class MessageParserFuzzTest {
  /** The data keys of docs/FORMAT.md's vectors (see FormatVectorsTest). */
  private static final FrameKey[] KEYS = {vectorKey(false), vectorKey(true)};

  private static final AtomicLong framesReached = new AtomicLong();
  private static final AtomicLong streamFramesReached = new AtomicLong();

  private static FrameKey vectorKey(boolean second) {
    byte[] dk = new byte[32];
    for (int i = 0; i < 32; i++) {
      dk[i] = second ? (byte) 0xA5 : (byte) i;
    }
    return FrameKey.of(dk, MessageFormat.SUITE_AES256_GCM_COMMIT);
  }

  private static FrameKey keyFor(MessageHeader h) {
    for (FrameKey k : KEYS) {
      if (k.commitmentMatches(h.buffer(), h.commitmentOffset())) {
        return k;
      }
    }
    return null;
  }

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
      FrameKey key = keyFor(h);
      if (key != null) {
        framesReached.incrementAndGet();
        MessageHeader parsed = h;
        try {
          byte[] pt = FrameCipher.decrypt(key, parsed, new byte[] {0, 0}, data, 0, data.length);
          fail("bytes authenticated under the wrong AAD: " + pt.length);
        } catch (IntegrityException expected) {
          // fine
        }
      }
    }
    try (InputStream in = new ByteArrayInputStream(data)) {
      MessageHeader sh = MessageHeader.read(in);
      FrameKey key = keyFor(sh);
      if (key == null) {
        key = KEYS[0];
      } else {
        streamFramesReached.incrementAndGet();
      }
      assertTrue(key.tryLease());
      DecryptingInputStream dec;
      try {
        dec = new DecryptingInputStream(in, key, sh, new byte[] {0, 0}, 0, -1, -1, () -> {});
      } catch (RuntimeException e) {
        key.release(); // the stream was never made: it could not take over the lease
        throw e;
      }
      try (dec) {
        byte[] buf = new byte[8192];
        int n = dec.read(buf);
        fail("bytes authenticated under the wrong AAD: " + n + " " + Arrays.toString(buf));
      }
    } catch (IntegrityException expected) {
      // fine
    }
  }

  @AfterAll
  static void theFuzzerReachedTheFrameCode() {
    assertTrue(framesReached.get() > 0, "no input passed the commitment check");
    assertTrue(streamFramesReached.get() > 0, "no stream input passed the commitment check");
    System.out.println(
        "MessageParserFuzzTest: inputs that reached frame code: "
            + framesReached.get()
            + " (byte[]), "
            + streamFramesReached.get()
            + " (stream)");
  }
}
