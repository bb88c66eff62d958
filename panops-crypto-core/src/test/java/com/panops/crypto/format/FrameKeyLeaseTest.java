package com.panops.crypto.format;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The lease primitive. Interleavings guarded against: a retire (purge) between a user's check and
 * its copy of the bytes (the old check-then-clone handed out zeroed or half-zeroed keys in about
 * half of 3,000 trials); a lease granted after the last reference was released (resurrecting a
 * zeroed key); a retire that zeroes bytes a lease still uses; leaks (a retired key whose leases
 * were all released but whose bytes are not zeroed).
 */
class FrameKeyLeaseTest {
  static byte[] keyBytes(int seed) {
    byte[] k = new byte[32];
    new SplittableRandom(seed).nextBytes(k);
    k[0] |= 1; // never all-zero
    return k;
  }

  @Test
  void aLeaseHolder_alwaysSeesTheWholeKey_whileOthersRetireIt() throws Exception {
    int rounds = 3000;
    AtomicLong leased = new AtomicLong();
    AtomicLong refused = new AtomicLong();
    List<String> bad = new java.util.concurrent.CopyOnWriteArrayList<>();
    for (int round = 0; round < rounds; round++) {
      byte[] original = keyBytes(round);
      FrameKey key = FrameKey.of(original, MessageFormat.SUITE_AES256_GCM_COMMIT);
      CountDownLatch go = new CountDownLatch(1);
      List<Thread> users = new ArrayList<>();
      for (int u = 0; u < 3; u++) {
        users.add(
            new Thread(
                () -> {
                  await(go);
                  for (int i = 0; i < 20; i++) {
                    if (!key.tryLease()) {
                      refused.incrementAndGet();
                      continue;
                    }
                    leased.incrementAndGet();
                    try {
                      byte[] seen = key.getEncoded();
                      if (!Arrays.equals(original, seen)) {
                        bad.add("a lease saw other bytes");
                      }
                    } catch (RuntimeException e) {
                      bad.add("a lease holder got " + e);
                    } finally {
                      key.release();
                    }
                  }
                }));
      }
      Thread retirer =
          new Thread(
              () -> {
                await(go);
                Thread.onSpinWait();
                key.retire();
                key.retire(); // idempotent
              });
      users.forEach(Thread::start);
      retirer.start();
      go.countDown();
      for (Thread t : users) {
        t.join();
      }
      retirer.join();
      assertTrue(key.isRetired());
      assertTrue(key.isDestroyed(), "every lease released and retired: the bytes must be gone");
      assertFalse(key.tryLease(), "no lease after the last release");
      assertThrows(IllegalStateException.class, key::getEncoded);
    }
    assertTrue(bad.isEmpty(), bad.size() + " bad: " + bad.subList(0, Math.min(5, bad.size())));
    assertTrue(
        leased.get() > 0 && refused.get() > 0, "both outcomes reached: " + leased + "/" + refused);
  }

  @Test
  void framesSealedUnderALease_decryptWithTheRealKey_whilePurgesRetireKeys() throws Exception {
    // Encrypting threads take leases from a shared slot while a purger keeps replacing the key in
    // the slot and retiring the old one: every frame sealed must open under the real key.
    byte[] bound = new byte[MessageFormat.FIXED_PREFIX_LENGTH];
    AtomicReference<FrameKey> slot = new AtomicReference<>();
    List<byte[]> keys = new java.util.concurrent.CopyOnWriteArrayList<>();
    byte[] first = keyBytes(-1);
    keys.add(first);
    slot.set(FrameKey.of(first, 1));
    List<Object[]> sealed = new java.util.concurrent.CopyOnWriteArrayList<>();
    long deadline = System.nanoTime() + 2_000_000_000L;
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < 2; w++) {
      threads.add(
          new Thread(
              () -> {
                byte[] pt = new byte[64];
                while (System.nanoTime() < deadline) {
                  FrameKey k = slot.get();
                  if (!k.tryLease()) {
                    continue;
                  }
                  try {
                    byte[] b = bound.clone();
                    FrameCipher.randomBytes(b, MessageFormat.OFF_MESSAGE_ID, 12); // fresh nonce
                    byte[] ct = new byte[pt.length + MessageFormat.TAG_LENGTH];
                    FrameCipher.seal(
                        k, b, 0, b.length, new byte[0], 0, true, pt, 0, pt.length, ct, 0);
                    sealed.add(new Object[] {k.commitment(), ct, b});
                  } finally {
                    k.release();
                  }
                }
              }));
    }
    threads.add(
        new Thread(
            () -> {
              int n = 0;
              while (System.nanoTime() < deadline) {
                byte[] next = keyBytes(n++);
                keys.add(next);
                slot.getAndSet(FrameKey.of(next, 1)).retire();
                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
              }
            }));
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join();
    }
    assertTrue(sealed.size() > 1000, "frames sealed: " + sealed.size());
    java.util.Map<String, FrameKey> byCommitment = new java.util.HashMap<>();
    for (byte[] k : keys) {
      FrameKey fk = FrameKey.of(k, 1);
      byCommitment.put(Arrays.toString(fk.commitment()), fk);
    }
    for (Object[] s : sealed) {
      FrameKey real = byCommitment.get(Arrays.toString((byte[]) s[0]));
      byte[] ct = (byte[]) s[1];
      byte[] b = (byte[]) s[2];
      byte[] out = new byte[ct.length - MessageFormat.TAG_LENGTH];
      assertEquals(
          out.length,
          FrameCipher.open(real, b, 0, b.length, new byte[0], 0, true, ct, 0, ct.length, out, 0),
          "a frame sealed under a lease opens under the real key");
    }
  }

  @Test
  void releasingMoreOftenThanLeased_isABug_andSaysSo() {
    FrameKey k = FrameKey.of(keyBytes(1), 1);
    assertTrue(k.tryLease());
    k.release();
    k.retire(); // the owner's reference: now zero
    assertTrue(k.isDestroyed());
    assertThrows(IllegalStateException.class, k::release);
  }

  private static void await(CountDownLatch l) {
    try {
      l.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
