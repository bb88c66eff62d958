package com.panops.crypto.cache;

import static org.junit.jupiter.api.Assertions.*;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageFormat;
import java.time.Duration;
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

  final DataKeyCache cache =
      new DataKeyCache(
          Duration.ofMinutes(5), 10_000, Duration.ofMinutes(5), 10_000, Ticker.systemTicker());
  final ExecutorService two = Executors.newFixedThreadPool(2);

  @AfterEach
  void close() {
    two.shutdownNow();
    cache.close();
  }

  static EncryptionKey key(long maxMessages) {
    return new EncryptionKey(
        FrameKey.of(new byte[32], MessageFormat.SUITE_AES256_GCM_COMMIT),
        new byte[0],
        0,
        "arn",
        maxMessages,
        1L << 42,
        0);
  }

  /** A cached key of one message, spent, with its successor loaded and ready. */
  EncryptionKey spentWithReadySuccessor(DataKeyCache.EncryptSlot slot) throws Exception {
    EncryptionKey k0 = cache.encryptKey(slot, s -> key(1));
    assertTrue(k0.tryUse(0, 0)); // 1 of 1: refresh wanted, and spent
    cache.refreshIfDue(slot, k0, cache.now(), () -> key(1));
    assertTrue(cache.awaitRefreshes(Duration.ofSeconds(5)));
    assertTrue(k0.successor.get() instanceof EncryptionKey, "setup: successor ready");
    return k0;
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
      DataKeyCache.EncryptSlot slot = new DataKeyCache.EncryptSlot("t", "arn", i);
      EncryptionKey k0 = spentWithReadySuccessor(slot);
      EncryptionKey k1 = (EncryptionKey) k0.successor.get();
      CyclicBarrier go = new CyclicBarrier(2);
      Future<?> a =
          two.submit(
              () -> {
                go.await();
                return cache.handOver(slot, k0, Duration.ofSeconds(5));
              });
      Future<?> b =
          two.submit(
              () -> {
                go.await();
                cache.purge("arn");
                return null;
              });
      a.get(5, TimeUnit.SECONDS);
      b.get(5, TimeUnit.SECONDS);
      EncryptionKey left = cache.encryptKeyIfPresent(slot);
      if (left != null) {
        survivors++;
        cache.retire(slot, left);
      }
      assertTrue(k0.key().isRetired(), "the purged key is retired");
      assertTrue(k1.key().isRetired(), "its successor is retired too, whichever thread won");
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
      DataKeyCache.EncryptSlot slot = new DataKeyCache.EncryptSlot("t", "arn", i);
      EncryptionKey k0 = spentWithReadySuccessor(slot);
      EncryptionKey k1 = (EncryptionKey) k0.successor.get();
      CyclicBarrier go = new CyclicBarrier(2);
      Future<Boolean> a =
          two.submit(
              () -> {
                go.await();
                return cache.handOver(slot, k0, Duration.ofSeconds(5));
              });
      Future<Boolean> b =
          two.submit(
              () -> {
                go.await();
                return cache.handOver(slot, k0, Duration.ofSeconds(5));
              });
      assertTrue(a.get(5, TimeUnit.SECONDS), "the successor took over");
      assertTrue(b.get(5, TimeUnit.SECONDS), "the successor took over");
      if (cache.encryptKeyIfPresent(slot) != k1) {
        wasted++;
      }
      assertTrue(k0.key().isRetired(), "the spent key is retired");
      assertFalse(k1.key().isRetired(), "the successor is live and cached");
      cache.retire(slot, k1);
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
