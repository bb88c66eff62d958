package com.panops.crypto.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The frame arithmetic, against a model that lays the frames out one by one. */
class FrameGeometryTest {
  static final int H = 250;
  static final int F = 4096;
  static final FrameGeometry G = FrameGeometry.of(H, F);

  @Test
  void everyPlaintextLengthMapsToTheLengthOfItsFramesLaidOutOneByOne() {
    for (long p = 0; p < 5L * F + 3; p += (p < 3 * F ? 1 : 97)) {
      long frames = 0;
      long offset = H;
      long left = p;
      do {
        long chunk = Math.min(left, F);
        assertEquals(offset, G.frameOffset(frames), "offset of frame " + frames + " at P=" + p);
        offset += chunk + MessageFormat.TAG_LENGTH;
        left -= chunk;
        frames++;
      } while (left > 0);
      assertEquals(frames, G.frameCount(p), "frames at P=" + p);
      assertEquals(offset, G.ciphertextLength(p), "length at P=" + p);
      assertEquals(frames, G.frameCountOfMessage(offset), "frames read back at P=" + p);
      assertEquals(p, G.plaintextLengthOfMessage(offset), "plaintext read back at P=" + p);
    }
  }

  @Test
  void lengthsNoMessageHasAreAnsweredMinusOne() {
    assertEquals(-1, G.frameCountOfMessage(H + MessageFormat.TAG_LENGTH - 1), "shorter than a tag");
    // a full frame followed by a frame holding only a tag is not a valid message
    assertEquals(-1, G.frameCountOfMessage(H + F + 2L * MessageFormat.TAG_LENGTH));
    assertEquals(-1, G.plaintextLengthOfMessage(H + F + 2L * MessageFormat.TAG_LENGTH));
    assertEquals(1, G.frameCountOfMessage(H + MessageFormat.TAG_LENGTH), "the empty message");
  }

  @Test
  void frameIndicesAndEndsFollowThePlaintextOffsets() {
    long ct = G.ciphertextLength(2L * F + 10);
    assertEquals(0, G.frameIndexOf(F - 1));
    assertEquals(1, G.frameIndexOf(F));
    assertEquals(2L * F, G.plaintextOffsetOf(2));
    assertEquals(G.frameOffset(1), G.frameEnd(0, ct));
    assertEquals(ct, G.frameEnd(2, ct), "the short last frame ends with the message");
  }

  @Test
  void boundsOfTheFormatAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> FrameGeometry.of(0, F));
    assertThrows(
        IllegalArgumentException.class,
        () -> FrameGeometry.of(H, MessageFormat.MIN_FRAME_SIZE - 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> FrameGeometry.of(H, MessageFormat.MAX_FRAME_SIZE + 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> FrameGeometry.of(MessageFormat.MAX_HEADER_LENGTH + 1, F));
  }
}
