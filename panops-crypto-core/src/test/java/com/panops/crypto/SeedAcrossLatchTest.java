package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.testkit.FakeKmsClient;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Interleaving guarded: an encrypt-side load (compact) has its data key from KMS and passed {@code
 * checkLoaded}; a latch of the CMK (another request's GenerateDataKey meets a disabled key) sets a
 * new epoch and purges both sides; only then does the load seed the decrypt side ({@code
 * seedDecrypt}, after {@code registerCompact}'s registry insert). The encrypt-side entry is retired
 * by its caller's epoch check (as the Javadoc of {@code load} says), but the seeded decrypt-side
 * entry carries the old epoch, its edk was never written into any ciphertext, so nobody would ever
 * touch it: it kept live key bytes until decryptMaxAge (5 min by default) or size eviction.
 * TenantCrypto now checks the epoch again after seeding. The registry insert is only a convenient
 * place to hold the load; for version 1 keys the same window is {@code encodeTemplate}
 * (microseconds).
 */
class SeedAcrossLatchTest {
  static final KeyContext KC = KeyContext.of("class", "mail");

  @Test
  void aLatchBetweenCheckLoadedAndSeedDecrypt_leavesNoLiveDataKeyCached() throws Exception {
    FakeKmsClient kms = new FakeKmsClient();
    String arn = kms.createKey("k");
    AtomicBoolean hold = new AtomicBoolean(true);
    CountDownLatch inRegister = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    MemoryRegistry mem = new MemoryRegistry();
    DataKeyRegistry gated =
        new DataKeyRegistry() {
          @Override
          public boolean register(RegisteredDataKey key) {
            if (hold.getAndSet(false)) {
              inRegister.countDown();
              try {
                assertTrue(release.await(30, TimeUnit.SECONDS));
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
            }
            return mem.register(key);
          }

          @Override
          public RegisteredDataKey lookup(String tenantId, long keyId) {
            return mem.lookup(tenantId, keyId);
          }
        };
    ExecutorService pool = Executors.newCachedThreadPool();
    try (PanopsCrypto crypto = TestCrypto.unprobed(kms, "t", arn).dataKeyRegistry(gated).build()) {
      TenantCrypto t = crypto.tenant("t");
      Future<byte[]> compact =
          pool.submit(() -> t.encryptCompact(new byte[16], KC, MessageAad.of("row", "1")));
      assertTrue(inRegister.await(30, TimeUnit.SECONDS), "the load reached the registry");

      // the latch: a request for another slot of the same CMK meets a disabled key
      kms.disable(arn);
      assertThrows(
          KeyRevokedException.class,
          () -> t.encrypt(new byte[16], KeyContext.of("class", "other"), MessageAad.of("r", "2")));
      assertArrayEquals(new long[] {0, 0}, crypto.cache.sizes(), "the purge left nothing");

      release.countDown();
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> compact.get(30, TimeUnit.SECONDS));
      assertInstanceOf(KeyRevokedException.class, e.getCause(), "nothing served after the latch");
      assertEquals(0, crypto.cache.sizes()[0], "encrypt side: retired by the epoch check");
      assertEquals(
          0,
          crypto.cache.sizes()[1],
          "decrypt side: a data key seeded after the purge stays cached with live bytes");
    } finally {
      pool.shutdownNow();
    }
  }
}
