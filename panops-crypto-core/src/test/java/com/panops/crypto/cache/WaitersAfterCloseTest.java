package com.panops.crypto.cache;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Interleaving guarded: eight threads wait for a load in flight; {@link DataKeyCache#close()} runs;
 * the load answers and is refused (closed). No waiter may then run a loader of its own (one KMS
 * call per waiter, serially, on a closed cache): each stops at the closed check.
 */
class WaitersAfterCloseTest {
  @Test
  void waitersOnALoadRefusedByClose_makeNoFurtherLoads() throws Exception {
    DataKeyCache cache = CacheTestKit.cache(100);
    DataKeyCache.EncryptSlot slot = new DataKeyCache.EncryptSlot("t", "arn", "ctx");
    ExecutorService pool = Executors.newCachedThreadPool();
    CacheTestKit.HeldCall kms = new CacheTestKit.HeldCall();
    AtomicInteger callsAfterClose = new AtomicInteger();
    List<Future<EncryptionKey>> all = new ArrayList<>();
    try {
      all.add(pool.submit(() -> cache.encryptKey(slot, s -> kms.answering(key()))));
      kms.awaitInKms();
      for (int i = 0; i < 8; i++) {
        all.add(
            pool.submit(
                () ->
                    cache.encryptKey(
                        slot,
                        s -> {
                          callsAfterClose.incrementAndGet();
                          return key();
                        })));
      }
      Field f = DataKeyCache.class.getDeclaredField("encryptLoads");
      f.setAccessible(true);
      CompletableFuture<?> inFlight =
          (CompletableFuture<?>) ((SingleFlight<?, ?>) f.get(cache)).inFlight().get(slot);
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (inFlight.getNumberOfDependents() < 8 && System.nanoTime() < until) {
        Thread.onSpinWait();
      }
      assertEquals(8, inFlight.getNumberOfDependents(), "setup: eight waiters joined");
      cache.close();
      kms.answer();
      for (Future<EncryptionKey> r : all) {
        ExecutionException e =
            assertThrows(ExecutionException.class, () -> r.get(10, TimeUnit.SECONDS));
        assertInstanceOf(IllegalStateException.class, e.getCause());
      }
      assertEquals(0, callsAfterClose.get(), "loads (KMS calls) made by waiters after close");
    } finally {
      pool.shutdownNow();
    }
  }

  static EncryptionKey key() {
    return CacheTestKit.encryptionKey();
  }
}
