package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.format.FrameGeometry;
import com.panops.crypto.format.MessageFormat;
import org.junit.jupiter.api.Test;

class RangePlanTest {
  private static final int H = 300;
  private static final int F = 4096;
  private static final int U = F + 16;

  private static long ct(long p) {
    return FrameGeometry.of(H, F).ciphertextLength(p);
  }

  @Test
  void closedRange_inOneFrame_fetchesThatFrameOnly() {
    RangePlan p = RangePlan.of(10, 20, FrameGeometry.of(H, F), ct(3 * F));
    assertEquals(0, p.firstFrame);
    assertEquals(0, p.lastFrame);
    assertEquals(H, p.ciphertextStart);
    assertEquals(H + U - 1, p.ciphertextEnd);
    assertEquals(10, p.skip);
    assertEquals(11, p.length());
  }

  @Test
  void rangeStraddlingAFrameBoundary_fetchesBothFrames() {
    RangePlan p = RangePlan.of(F - 1, F, FrameGeometry.of(H, F), ct(3 * F));
    assertEquals(0, p.firstFrame);
    assertEquals(1, p.lastFrame);
    assertEquals(H + 2L * U - 1, p.ciphertextEnd);
    assertEquals(F - 1, p.skip);
  }

  @Test
  void rangeEndingInTheShortLastFrame_endsAtTheObjectsEnd() {
    long plen = 2L * F + 100;
    RangePlan p = RangePlan.of(F + 5, plen - 1, FrameGeometry.of(H, F), ct(plen));
    assertEquals(1, p.firstFrame);
    assertEquals(2, p.lastFrame);
    assertEquals(H + U, p.ciphertextStart);
    assertEquals(ct(plen) - 1, p.ciphertextEnd);
    assertEquals("bytes " + (F + 5) + "-" + (plen - 1) + "/" + plen, p.contentRange(plen));
  }

  @Test
  void exactMultipleOfTheFrameSize_lastByteIsInTheLastFullFrame() {
    long plen = 4L * F;
    RangePlan p = RangePlan.of(plen - 1, plen - 1, FrameGeometry.of(H, F), ct(plen));
    assertEquals(3, p.lastFrame);
    assertEquals(ct(plen) - 1, p.ciphertextEnd);
    assertEquals(F - 1, p.skip);
  }

  @Test
  void requestResolution_followsHttp() {
    assertArrayEquals(new long[] {0, 9}, RangePlan.Request.parse("bytes=0-9").resolve(100));
    assertArrayEquals(new long[] {5, 99}, RangePlan.Request.parse("bytes=5-").resolve(100));
    assertArrayEquals(new long[] {5, 99}, RangePlan.Request.parse("bytes=5-1000").resolve(100));
    assertArrayEquals(new long[] {90, 99}, RangePlan.Request.parse("bytes=-10").resolve(100));
    assertArrayEquals(new long[] {0, 99}, RangePlan.Request.parse("bytes=-1000").resolve(100));
    assertArrayEquals(new long[] {99, 99}, RangePlan.Request.parse("bytes=99-99").resolve(100));
    assertArrayEquals(new long[] {0, 0}, RangePlan.Request.parse(" Bytes=0-0 ").resolve(1));
  }

  @Test
  void unsatisfiableRanges_resolveToNull() {
    assertNull(RangePlan.Request.parse("bytes=100-").resolve(100));
    assertNull(RangePlan.Request.parse("bytes=100-200").resolve(100));
    assertNull(RangePlan.Request.parse("bytes=-0").resolve(100));
    assertNull(RangePlan.Request.parse("bytes=0-").resolve(0));
    assertNull(RangePlan.Request.parse("bytes=-5").resolve(0));
  }

  @Test
  void malformedRanges_areRefused() {
    for (String bad :
        new String[] {
          "bytes=5-2",
          "bytes=0-1,3-4",
          "bytes=",
          "bytes=-",
          "bytes=a-1",
          "bytes=1-b",
          "0-1",
          "bits=0-1",
          "bytes=1-2-3",
          "bytes=99999999999999999999-",
          "bytes=+1-2"
        }) {
      assertThrows(IllegalArgumentException.class, () -> RangePlan.Request.parse(bad), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> RangePlan.Request.parse(null));
  }

  @Test
  void everyRangeOfSmallObjects_coversExactlyTheFramesNeeded() {
    for (long plen : new long[] {1, F - 1, F, F + 1, 3L * F, 3L * F + 7}) {
      long c = ct(plen);
      for (long s = 0; s < plen; s += 509) {
        for (long e = s; e < plen; e += 733) {
          RangePlan p = RangePlan.of(s, e, FrameGeometry.of(H, F), c);
          assertEquals(s / F, p.firstFrame);
          assertEquals(e / F, p.lastFrame);
          assertEquals(H + p.firstFrame * U, p.ciphertextStart);
          long frames = p.lastFrame - p.firstFrame + 1;
          long bytes = p.ciphertextEnd - p.ciphertextStart + 1;
          assertTrue(bytes <= frames * U && bytes > (frames - 1) * U, "whole frames only");
          assertTrue(p.ciphertextEnd < c);
          assertEquals(s - p.firstFrame * F, p.skip);
        }
      }
    }
  }

  @Test
  void firstFetch_coversTheLargestHeader() {
    assertTrue(EncryptingS3Client.PREFIX_FETCH > MessageFormat.MAX_HEADER_LENGTH);
  }
}
