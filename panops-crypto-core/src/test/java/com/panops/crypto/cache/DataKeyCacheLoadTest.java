package com.panops.crypto.cache;

import static org.junit.jupiter.api.Assertions.*;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The data-key cache's loads: single flight, and nothing else waits for a KMS call in flight. Each
 * loader here stands for a KMS call and is held at a gate until the test opens it, so the
 * interleavings are forced, not hoped for; the bounded waits only turn a hang into a failure.
 */
class DataKeyCacheLoadTest {
  final DataKeyCache cache =
      new DataKeyCache(
          Duration.ofMinutes(5), 10_000, Duration.ofMinutes(5), 10_000, Ticker.systemTicker());
  final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void close() {
    pool.shutdownNow();
    cache.close();
  }

  static EncryptionKey key() {
    return new EncryptionKey(
        FrameKey.of(new byte[32], MessageFormat.SUITE_AES256_GCM_COMMIT),
        new byte[0],
        0,
        "arn",
        1_000,
        1L << 42,
        0);
  }

  /**
   * A key context with a fixed hash code: slots of one tenant and CMK that differ only in it are
   * unequal but fall into the same hash bin of the map.
   */
  record SameHash(int id) {
    @Override
    public int hashCode() {
      return 42;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof SameHash h && h.id == id;
    }
  }

  /**
   * Interleaving guarded: a load of slot B (a KMS call, up to the KMS timeout) is in flight when a
   * latch purges the CMK, and slot A of that CMK shares B's hash bin. With the load inside
   * Caffeine's {@code get(key, loader)} (ConcurrentHashMap.compute holds the bin's lock for the
   * whole call), the purge's removal of A waited for KMS: the latching probe thread stalled, and so
   * did the REVOKED event (seen as a 10 s stall in about 1 run in 40 of ProbeOrderingTest).
   */
  @Test
  void aPurge_neverWaitsForALoadInFlight_ofAnotherKeyInTheSameHashBin() throws Exception {
    DataKeyCache.EncryptSlot slotA = new DataKeyCache.EncryptSlot("t", "arn", new SameHash(1));
    DataKeyCache.EncryptSlot slotB = new DataKeyCache.EncryptSlot("t", "arn", new SameHash(2));
    assertEquals(slotA.hashCode(), slotB.hashCode(), "setup: one bin");
    EncryptionKey a = cache.encryptKey(slotA, s -> key());
    CountDownLatch inKms = new CountDownLatch(1);
    CountDownLatch answer = new CountDownLatch(1);
    Future<EncryptionKey> b =
        pool.submit(
            () ->
                cache.encryptKey(
                    slotB,
                    s -> {
                      inKms.countDown();
                      await(answer);
                      return key();
                    }));
    assertTrue(inKms.await(10, TimeUnit.SECONDS));

    Future<?> purge = pool.submit(() -> cache.purge("arn"));
    try {
      purge.get(10, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      fail("the purge waited for a KMS call in flight for another key");
    }
    assertEquals(1, answer.getCount(), "KMS had not answered when the purge returned");
    assertNull(cache.encryptKeyIfPresent(slotA), "A purged");
    assertTrue(a.key().isRetired(), "A's key retired");

    answer.countDown();
    EncryptionKey kb = b.get(10, TimeUnit.SECONDS);
    // B was loaded across the purge: the cache inserts it (it does not know epochs); the caller
    // finds its epoch older than the key's and removes it before any use (TenantCrypto.acquire)
    assertSame(kb, cache.encryptKeyIfPresent(slotB));
  }

  /**
   * The same on the decrypt side: a purge does not wait for a {@code Decrypt} in flight of a key in
   * the same hash bin (two encrypted data keys whose look-up keys have equal hash codes, found by a
   * birthday search over 8-byte values).
   */
  @Test
  void aPurge_neverWaitsForADecryptLoadInFlight_ofAnotherKeyInTheSameHashBin() throws Exception {
    DecryptKey[] pair = sameHashPair();
    DataKeyCache.DecryptEntry a = cache.decryptKey(pair[0], v -> entry());
    CountDownLatch inKms = new CountDownLatch(1);
    CountDownLatch answer = new CountDownLatch(1);
    Future<DataKeyCache.DecryptEntry> loading =
        pool.submit(
            () ->
                cache.decryptKey(
                    pair[1],
                    v -> {
                      inKms.countDown();
                      await(answer);
                      return entry();
                    }));
    assertTrue(inKms.await(10, TimeUnit.SECONDS));
    Future<?> purge = pool.submit(() -> cache.purge("arn"));
    try {
      purge.get(10, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      fail("the purge waited for a KMS Decrypt in flight");
    }
    assertEquals(1, answer.getCount(), "KMS had not answered when the purge returned");
    assertTrue(a.key().isRetired());
    assertNull(cache.decryptKeyIfPresent(pair[0]));
    answer.countDown();
    assertNotNull(loading.get(10, TimeUnit.SECONDS));
  }

  static DecryptKey[] sameHashPair() {
    java.util.Map<Integer, DecryptKey> seen = new java.util.HashMap<>();
    for (long i = 0; i < 4_000_000; i++) {
      byte[] edk = java.nio.ByteBuffer.allocate(8).putLong(i).array();
      DecryptKey k = DecryptKey.view("t", "arn", 1, new byte[0], 0, edk, 0, 8).owned();
      DecryptKey other = seen.putIfAbsent(k.hashCode(), k);
      if (other != null && !other.equals(k)) {
        return new DecryptKey[] {other, k};
      }
    }
    throw new AssertionError("setup: no two look-up keys with one hash code");
  }

  static DataKeyCache.DecryptEntry entry() {
    return new DataKeyCache.DecryptEntry(
        FrameKey.of(new byte[32], MessageFormat.SUITE_AES256_GCM_COMMIT), 0);
  }

  /**
   * Single flight: eight threads missing one slot together make one KMS call and share its key. The
   * loader is held until every thread has been started (a thread that arrives after the answer
   * finds the key cached: the count holds either way).
   */
  @Test
  void manyThreadsMissingOneSlot_makeOneKmsCall_andShareTheKey() throws Exception {
    DataKeyCache.EncryptSlot slot = new DataKeyCache.EncryptSlot("t", "arn", "ctx");
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch answer = new CountDownLatch(1);
    CyclicBarrier go = new CyclicBarrier(8);
    List<Future<EncryptionKey>> got = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      got.add(
          pool.submit(
              () -> {
                go.await();
                return cache.encryptKey(
                    slot,
                    s -> {
                      calls.incrementAndGet();
                      await(answer);
                      return key();
                    });
              }));
    }
    while (calls.get() == 0) {
      Thread.onSpinWait();
    }
    answer.countDown();
    EncryptionKey first = got.get(0).get(10, TimeUnit.SECONDS);
    for (Future<EncryptionKey> f : got) {
      assertSame(first, f.get(10, TimeUnit.SECONDS));
    }
    assertEquals(1, calls.get());
  }

  /**
   * A failed load is not handed to the threads that waited for it as their own answer: each of them
   * loads again (and so meets the failure rules itself, as with Caffeine's single flight), and the
   * failure reaches only the thread whose KMS call failed.
   */
  @Test
  void aWaiterOnAFailedLoad_loadsAgain_andTheFailureReachesOnlyItsOwnCaller() throws Exception {
    DataKeyCache.EncryptSlot slot = new DataKeyCache.EncryptSlot("t", "arn", "ctx");
    AtomicInteger calls = new AtomicInteger();
    CountDownLatch answer = new CountDownLatch(1);
    IllegalStateException kmsSaidNo = new IllegalStateException("KMS said no");
    Future<EncryptionKey> failing =
        pool.submit(
            () ->
                cache.encryptKey(
                    slot,
                    s -> {
                      calls.incrementAndGet();
                      await(answer);
                      throw kmsSaidNo;
                    }));
    while (calls.get() == 0) {
      Thread.onSpinWait();
    }
    Future<EncryptionKey> waiter =
        pool.submit(
            () ->
                cache.encryptKey(
                    slot,
                    s -> {
                      calls.incrementAndGet();
                      return key();
                    }));
    answer.countDown();
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> failing.get(10, TimeUnit.SECONDS));
    assertSame(kmsSaidNo, e.getCause());
    assertNotNull(waiter.get(10, TimeUnit.SECONDS));
    assertEquals(2, calls.get(), "the waiter made its own call");
  }

  /**
   * A load that answers after {@link DataKeyCache#close()} does not leave its key cached with live
   * bytes: the caller gets the closed cache's error and the key is retired.
   */
  @Test
  void aLoadAnsweringAfterClose_leavesNoLiveKey() throws Exception {
    DataKeyCache.EncryptSlot slot = new DataKeyCache.EncryptSlot("t", "arn", "ctx");
    CountDownLatch inKms = new CountDownLatch(1);
    CountDownLatch answer = new CountDownLatch(1);
    EncryptionKey[] loaded = new EncryptionKey[1];
    Future<EncryptionKey> f =
        pool.submit(
            () ->
                cache.encryptKey(
                    slot,
                    s -> {
                      inKms.countDown();
                      await(answer);
                      loaded[0] = key();
                      return loaded[0];
                    }));
    assertTrue(inKms.await(10, TimeUnit.SECONDS));
    cache.close();
    answer.countDown();
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    assertInstanceOf(IllegalStateException.class, e.getCause());
    assertTrue(loaded[0].key().isRetired(), "the late key is retired");
  }

  private static void await(CountDownLatch l) {
    try {
      if (!l.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("gate never opened");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
