package com.panops.crypto.cache;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Racing specifications of the hand-over of a spent encrypt-side key to its successor (refresh
 * ahead), against a latch's purge and against a second request spending the same key. Each round
 * races two threads released by a barrier and asserts the outcome of that round.
 */
class HandOverRaceTest {
  static final int ROUNDS = 3_000;

  final DataKeyCache cache = CacheTestKit.cache(10_000);
  final ExecutorService two = Executors.newFixedThreadPool(2);

  @AfterEach
  void close() {
    two.shutdownNow();
    cache.close();
  }

  static EncryptionKey key(long maxMessages) {
    return CacheTestKit.encryptionKey(maxMessages);
  }

  /** A round's slot, its spent key k0 and k0's successor k1, loaded and ready. */
  record Round(DataKeyCache.EncryptSlot slot, EncryptionKey k0, EncryptionKey k1) {}

  /** Round {@code i}: a cached key of one message, spent, with its successor loaded and ready. */
  Round spentWithReadySuccessor(int i) throws Exception {
    DataKeyCache.EncryptSlot slot = new DataKeyCache.EncryptSlot("t", "arn", i);
    EncryptionKey k0 = cache.encryptKey(slot, s -> key(1));
    assertTrue(k0.tryUse(0, 0)); // 1 of 1: refresh wanted, and spent
    cache.refreshIfDue(slot, k0, cache.now(), () -> key(1));
    assertTrue(cache.awaitRefreshes(Duration.ofSeconds(5)));
    assertTrue(k0.successor.get() instanceof EncryptionKey, "setup: successor ready");
    return new Round(slot, k0, (EncryptionKey) k0.successor.get());
  }

  /** What the two racers returned. */
  record Raced<A, B>(A a, B b) {}

  /** Runs {@code a} and {@code b} on two threads released together; both must return in 5 s. */
  <A, B> Raced<A, B> race(Callable<A> a, Callable<B> b) throws Exception {
    CyclicBarrier go = new CyclicBarrier(2);
    Future<A> fa =
        two.submit(
            () -> {
              go.await();
              return a.call();
            });
    Future<B> fb =
        two.submit(
            () -> {
              go.await();
              return b.call();
            });
    return new Raced<>(fa.get(5, TimeUnit.SECONDS), fb.get(5, TimeUnit.SECONDS));
  }

  /** {@code r}'s hand-over of its spent key, as a request does. */
  boolean handOver(Round r) {
    return cache.handOver(r.slot(), r.k0(), Duration.ofSeconds(5));
  }

  /**
   * A latch's purge racing a hand-over. Interleaving guarded: the purge tests the spent key k0 and
   * retires it, then the hand-over replaces k0 by its successor k1, then the purge removes "slot if
   * still k0", which fails: k1 (loaded before the latch) would stay cached with live key bytes.
   * Purging by key removes whatever the slot holds, and the removal listener retires it.
   */
  @Test
  void aPurgeRacingAHandOver_leavesNoLiveKeyCached() throws Exception {
    int survivors = 0;
    for (int i = 0; i < ROUNDS; i++) {
      Round r = spentWithReadySuccessor(i);
      race(
          () -> handOver(r),
          () -> {
            cache.purge("arn");
            return null;
          });
      EncryptionKey left = cache.encryptKeyIfPresent(r.slot());
      if (left != null) {
        survivors++;
        cache.retire(r.slot(), left);
      }
      assertTrue(r.k0().key().isRetired(), "the purged key is retired");
      assertTrue(r.k1().key().isRetired(), "its successor is retired too, whichever thread won");
    }
    assertEquals(0, survivors, survivors + " of " + ROUNDS + " purges left a key cached");
  }

  /**
   * Two requests spend the last message of k0 at once and both hand over. Interleaving guarded:
   * thread A takes the successor k1 (TAKEN), thread B sees TAKEN and removes k0, then A's install
   * "k1 in place of k0" fails and k1 is thrown away (a wasted GenerateDataKey, and the next request
   * waits for KMS). Taking and installing happen in one compute on the slot.
   */
  @Test
  void twoRequestsHandingOverAtOnce_installTheSuccessor() throws Exception {
    int wasted = 0;
    for (int i = 0; i < ROUNDS; i++) {
      Round r = spentWithReadySuccessor(i);
      Raced<Boolean, Boolean> took = race(() -> handOver(r), () -> handOver(r));
      assertTrue(took.a(), "the successor took over");
      assertTrue(took.b(), "the successor took over");
      if (cache.encryptKeyIfPresent(r.slot()) != r.k1()) {
        wasted++;
      }
      assertTrue(r.k0().key().isRetired(), "the spent key is retired");
      assertFalse(r.k1().key().isRetired(), "the successor is live and cached");
      cache.retire(r.slot(), r.k1());
    }
    assertEquals(0, wasted, wasted + " of " + ROUNDS + " hand-overs threw the successor away");
  }

  /**
   * Interleaving guarded: the successor's load has started on a refresher thread and KMS does not
   * answer. A request finding the key spent waits at most its bound (the probe timeout in
   * production), then fails closed with KmsUnavailableException; it never parks without limit.
   */
  @Test
  void aHandOverWaitingForARunningLoad_isBounded_andFailsClosed() throws Exception {
    DataKeyCache.EncryptSlot slot = new DataKeyCache.EncryptSlot("t", "arn", "hang");
    EncryptionKey k0 = cache.encryptKey(slot, s -> key(1));
    assertTrue(k0.tryUse(0, 0));
    java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch kms = new java.util.concurrent.CountDownLatch(1);
    cache.refreshIfDue(
        slot,
        k0,
        cache.now(),
        () -> {
          started.countDown();
          try {
            kms.await(); // KMS does not answer until the test lets it
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return key(1);
        });
    assertTrue(started.await(10, TimeUnit.SECONDS), "setup: the load runs on a refresher");
    Future<Boolean> request = two.submit(() -> cache.handOver(slot, k0, Duration.ofMillis(50)));
    java.util.concurrent.ExecutionException e =
        assertThrows(
            java.util.concurrent.ExecutionException.class, () -> request.get(10, TimeUnit.SECONDS));
    assertInstanceOf(com.panops.crypto.KmsUnavailableException.class, e.getCause());
    assertSame(k0, cache.encryptKeyIfPresent(slot), "nothing installed");
    kms.countDown();
    assertTrue(cache.awaitRefreshes(Duration.ofSeconds(10)));
    assertTrue(cache.handOver(slot, k0, Duration.ofSeconds(5)), "the late successor takes over");
    assertNotSame(k0, cache.encryptKeyIfPresent(slot));
  }
}
