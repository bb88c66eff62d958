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

  /**
   * Racing one-shot messages at the ceiling (interleaving: thread A and thread B both read the
   * frame count with room for exactly one more message of 2^29 frames, then both add: 2^31 + 2^29
   * GCM invocations under one key). Every key starts 3/4 full; per round two racers, released
   * together by a spin flag, walk the same 512 keys in the same order and each tries one message of
   * 1/4 on every key: at most one may succeed per key, and the count never passes 2^31.
   */
  @Test
  void racingMessages_neverCrossTheFrameCeiling() throws Exception {
    long quarter = EncryptionKey.MAX_INVOCATIONS / 4;
    int keysPerRound = 512;
    int rounds = 1_000;
    int racers = 2;
    java.util.concurrent.atomic.AtomicReference<EncryptionKey[]> current =
        new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.atomic.AtomicReference<java.util.concurrent.atomic.AtomicIntegerArray>
        wins = new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.atomic.AtomicInteger round =
        new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger done =
        new java.util.concurrent.atomic.AtomicInteger();
    Thread[] ts = new Thread[racers];
    for (int t = 0; t < racers; t++) {
      ts[t] =
          new Thread(
              () -> {
                for (int r = 1; r <= rounds; r++) {
                  while (round.get() < r) {
                    Thread.onSpinWait();
                  }
                  EncryptionKey[] keys = current.get();
                  java.util.concurrent.atomic.AtomicIntegerArray w = wins.get();
                  for (int i = 0; i < keys.length; i++) {
                    if (keys[i].tryUse(0, quarter)) {
                      w.incrementAndGet(i);
                    }
                  }
                  done.incrementAndGet();
                }
              });
      ts[t].setDaemon(true);
      ts[t].start();
    }
    int crossed = 0;
    int won = 0;
    for (int r = 1; r <= rounds; r++) {
      EncryptionKey[] keys = new EncryptionKey[keysPerRound];
      for (int i = 0; i < keysPerRound; i++) {
        keys[i] = key(1L << 30, Long.MAX_VALUE);
        assertTrue(keys[i].tryUse(0, 3 * quarter));
      }
      java.util.concurrent.atomic.AtomicIntegerArray w =
          new java.util.concurrent.atomic.AtomicIntegerArray(keysPerRound);
      current.set(keys);
      wins.set(w);
      done.set(0);
      round.set(r);
      long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
      while (done.get() < racers) {
        assertTrue(System.nanoTime() < end, "a racer hung"); // a hang guard
        Thread.sleep(0, 100_000);
      }
      for (int i = 0; i < keysPerRound; i++) {
        won += w.get(i);
        if (w.get(i) > 1) {
          crossed++; // more than 2^31 invocations under one key
        }
        assertFalse(keys[i].tryUse(0, 1), "the key is full (or retired) after the race");
      }
    }
    for (Thread t : ts) {
      t.join(30_000);
    }
    assertEquals(0, crossed, crossed + " keys crossed 2^31 invocations");
    assertTrue(won > 0, "some message got the last quarter");
  }
}
