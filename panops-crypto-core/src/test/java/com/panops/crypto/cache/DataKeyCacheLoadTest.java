package com.panops.crypto.cache;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.cache.CacheTestKit.HeldCall;
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
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The data-key cache's loads: single flight, and nothing else waits for a KMS call in flight. Each
 * loader here stands for a KMS call and is held at a gate until the test opens it, so the
 * interleavings are forced, not hoped for; the bounded waits only turn a hang into a failure.
 */
class DataKeyCacheLoadTest {
  final DataKeyCache cache = CacheTestKit.cache(10_000);
  final ExecutorService pool = Executors.newCachedThreadPool();

  @AfterEach
  void close() {
    pool.shutdownNow();
    cache.close();
  }

  static EncryptionKey key() {
    return CacheTestKit.encryptionKey();
  }

  /** An encrypt-side load of {@code slot} by {@code loader}, on another thread. */
  Future<EncryptionKey> load(
      DataKeyCache.EncryptSlot slot, Function<DataKeyCache.EncryptSlot, EncryptionKey> loader) {
    return pool.submit(() -> cache.encryptKey(slot, loader));
  }

  /**
   * A purge of CMK "arn" (on another thread) returns while {@code kms} is still held: it did not
   * wait for that call; {@code waited} says what it would have waited for.
   */
  void assertAPurgeReturnsWhileHeld(HeldCall kms, String waited) throws Exception {
    Future<?> purge = pool.submit(() -> cache.purge("arn"));
    try {
      purge.get(10, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      fail("the purge waited for " + waited);
    }
    assertFalse(kms.answered(), "KMS had not answered when the purge returned");
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
    HeldCall kms = new HeldCall();
    Future<EncryptionKey> b = load(slotB, s -> kms.answering(key()));
    kms.awaitInKms();

    assertAPurgeReturnsWhileHeld(kms, "a KMS call in flight for another key");
    assertNull(cache.encryptKeyIfPresent(slotA), "A purged");
    assertTrue(a.key().isRetired(), "A's key retired");

    kms.answer();
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
    HeldCall kms = new HeldCall();
    Future<DataKeyCache.DecryptEntry> loading =
        pool.submit(() -> cache.decryptKey(pair[1], v -> kms.answering(entry())));
    kms.awaitInKms();
    assertAPurgeReturnsWhileHeld(kms, "a KMS Decrypt in flight");
    assertTrue(a.key().isRetired());
    assertNull(cache.decryptKeyIfPresent(pair[0]));
    kms.answer();
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
    return CacheTestKit.decryptEntry();
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
                      CacheTestKit.await(answer);
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
    HeldCall kms = new HeldCall();
    IllegalStateException kmsSaidNo = new IllegalStateException("KMS said no");
    Future<EncryptionKey> failing =
        load(
            slot,
            s -> {
              calls.incrementAndGet();
              kms.answering(null);
              throw kmsSaidNo;
            });
    kms.awaitInKms();
    Future<EncryptionKey> waiter =
        load(
            slot,
            s -> {
              calls.incrementAndGet();
              return key();
            });
    kms.answer();
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
    HeldCall kms = new HeldCall();
    EncryptionKey late = key();
    Future<EncryptionKey> f = load(slot, s -> kms.answering(late));
    kms.awaitInKms();
    cache.close();
    kms.answer();
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
    assertInstanceOf(IllegalStateException.class, e.getCause());
    assertTrue(late.key().isRetired(), "the late key is retired");
  }
}
