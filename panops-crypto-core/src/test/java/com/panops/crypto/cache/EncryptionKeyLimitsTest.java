package com.panops.crypto.cache;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.FrameKey;
import org.junit.jupiter.api.Test;

/** Per-key limits as streams use them (docs/FORMAT.md, "Limits per data key, for streams"). */
class EncryptionKeyLimitsTest {
  static EncryptionKey key(long maxMessages, long maxBytes) {
    return new EncryptionKey(
        FrameKey.of(new byte[32], 1), new byte[0], 0, "arn", maxMessages, maxBytes, 0);
  }

  @Test
  void theFrameCeiling_isNeverCrossed_byAStream() {
    EncryptionKey k = key(10, Long.MAX_VALUE);
    assertTrue(k.tryUse(0, EncryptionKey.MAX_INVOCATIONS - 2)); // a message of 2^31 - 2 frames
    assertTrue(k.tryUse(0, 0)); // a stream starts
    assertTrue(k.tryFrame(4096));
    assertTrue(k.tryFrame(4096)); // frame 2^31: the last one allowed
    assertFalse(k.tryFrame(4096), "the frame that would cross 2^31 is refused");
    assertFalse(k.tryFrame(1), "and stays refused");
    assertTrue(k.isRetired());
    assertFalse(k.tryUse(0, 0), "no new message on a retired key");
  }

  @Test
  void aStreamThatCrossesTheByteLimit_retiresTheKey_butFinishesItsOwnMessage() {
    EncryptionKey k = key(10, 10_000);
    assertTrue(k.tryUse(0, 0));
    assertTrue(k.tryFrame(4096));
    assertTrue(k.tryFrame(4096));
    assertFalse(k.isRetired());
    assertTrue(k.tryFrame(4096), "the stream's own message goes on");
    assertTrue(k.isRetired(), "past 10,000 bytes: no new message");
    assertFalse(k.tryUse(100, 1));
    assertFalse(k.tryUse(0, 0), "a new stream cannot start on it either");
  }

  @Test
  void aStreamCannotStartOnAKeyAtItsByteLimit_butAFirstMessageMay() {
    EncryptionKey fresh = key(10, 100);
    assertTrue(fresh.tryUse(1000, 1), "a first message larger than the limit gets the key");
    assertFalse(fresh.tryUse(0, 0), "then nothing else does");
    EncryptionKey used = key(10, 100);
    assertTrue(used.tryUse(60, 1));
    assertFalse(used.tryUse(60, 1), "would cross the byte limit");
  }
}
