package com.panops.crypto.cache;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageFormat;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Caches, keys and KMS calls for tests of the data-key cache's own logic. The keys' bytes are all
 * zero: they are never used to encrypt, only cached, handed over, purged and retired.
 */
final class CacheTestKit {
  private CacheTestKit() {}

  /** A cache of {@code maxEntries} per side, 5 min ages, on the system clock. */
  static DataKeyCache cache(int maxEntries) {
    return new DataKeyCache(
        Duration.ofMinutes(5),
        maxEntries,
        Duration.ofMinutes(5),
        maxEntries,
        Ticker.systemTicker());
  }

  /** An encrypt-side key of CMK "arn" good for {@code maxMessages} messages. */
  static EncryptionKey encryptionKey(long maxMessages) {
    return new EncryptionKey(
        FrameKey.of(new byte[32], MessageFormat.SUITE_AES256_GCM_COMMIT),
        new byte[0],
        0,
        "arn",
        maxMessages,
        1L << 42,
        0);
  }

  /** An encrypt-side key of CMK "arn" good for 1,000 messages. */
  static EncryptionKey encryptionKey() {
    return encryptionKey(1_000);
  }

  /** A decrypt-side entry. */
  static DataKeyCache.DecryptEntry decryptEntry() {
    return new DataKeyCache.DecryptEntry(
        FrameKey.of(new byte[32], MessageFormat.SUITE_AES256_GCM_COMMIT), 0);
  }

  /**
   * A KMS call that a loader stands for: {@link #answering} blocks the loader's thread until the
   * test {@link #answer answers}, so the interleavings are forced, not hoped for.
   */
  static final class HeldCall {
    private final CountDownLatch inKms = new CountDownLatch(1);
    private final CountDownLatch answer = new CountDownLatch(1);

    /**
     * On the loader's thread: signals that the call is in KMS, waits for the answer, returns it.
     */
    <T> T answering(T result) {
      inKms.countDown();
      await(answer);
      return result;
    }

    /** Waits (bounded) until the loader's call is in KMS. */
    void awaitInKms() throws InterruptedException {
      assertTrue(inKms.await(10, TimeUnit.SECONDS), "the load reached KMS");
    }

    /** Lets KMS answer. */
    void answer() {
      answer.countDown();
    }

    /** Whether the test has let KMS answer. */
    boolean answered() {
      return answer.getCount() == 0;
    }
  }

  /** Waits for {@code l} (bounded: a gate that never opens is a failure, not a hang). */
  static void await(CountDownLatch l) {
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
