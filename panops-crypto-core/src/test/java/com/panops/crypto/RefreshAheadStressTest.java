package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.FakeKmsClient;
import com.panops.crypto.testkit.ForwardingKmsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;

/**
 * Refresh ahead racing the kill switch: workers encrypt and decrypt under one CMK with limits so
 * small that every key is refreshed ahead (16 messages, age 1 s; decrypt entries 200 ms), while a
 * chaos thread disables and re-enables the key (probes latch and restore it) and purges the cache
 * as the idle sweep does. KMS answers are decided first and delivered up to 2 ms later, so a
 * successor decided before a disable arrives after the latch.
 *
 * <p>Interleavings this guards against:
 *
 * <ul>
 *   <li>a successor whose GenerateDataKey was answered after a latch being installed, or handed
 *       over after the restore (every message encrypted after a latch must be under a data key that
 *       KMS generated after that latch);
 *   <li>a successor completing after its key was purged (latch or idle sweep) and being installed
 *       into the emptied slot, or a hand-over racing the purge (same check; and every ciphertext
 *       decrypts with the real data key, so none was sealed under a retired, zeroed key);
 *   <li>a request that found its key spent while the successor loads, waiting for it across a latch
 *       (it must fail closed, not serve the stale successor);
 *   <li>concurrent requests exhausting a key while its successor loads (no key is used for more
 *       than its limit plus one message per worker; no encryption succeeds while latched);
 *   <li>a decrypt entry reloaded ahead racing a latch or purge (no decryption that started after a
 *       latch and ended before the restore returns plaintext).
 * </ul>
 */
class RefreshAheadStressTest {
  static final Duration RUN = Duration.ofSeconds(6);
  static final KeyContext KC = KillSwitchChaos.KC;
  static final int LIMIT = 16;
  static final int WORKERS = 4;

  /** A message encrypted by a call that started and ended at these ticks. */
  record Sealed(byte[] ct, byte[] pt, MessageAad aad, long start, long end) {}

  final KillSwitchChaos chaos = new KillSwitchChaos();
  final Queue<Sealed> sealed = new ConcurrentLinkedQueue<>();
  final AtomicLong refused = new AtomicLong();

  /** When KMS decided each GenerateDataKey (by the encrypted data key), then a late delivery. */
  final class DecidedKms extends ForwardingKmsClient {
    final Map<String, Long> decidedAt = new ConcurrentHashMap<>();

    DecidedKms(FakeKmsClient fake) {
      super(fake);
    }

    private void late() {
      LockSupport.parkNanos(ThreadLocalRandom.current().nextInt(2001) * 1000L);
    }

    @Override
    public GenerateDataKeyResponse generateDataKey(GenerateDataKeyRequest r) {
      GenerateDataKeyResponse a = delegate.generateDataKey(r);
      decidedAt.put(HexFormat.of().formatHex(a.ciphertextBlob().asByteArray()), chaos.now());
      late();
      return a;
    }

    @Override
    public DecryptResponse decrypt(DecryptRequest r) {
      DecryptResponse a = delegate.decrypt(r);
      late();
      return a;
    }
  }

  static String edk(byte[] ct) {
    return HexFormat.of().formatHex(MessageHeader.parse(ct, 0, ct.length).encryptedDataKey());
  }

  @Test
  void refreshRacingRevokePurgeAndRestore_neverServesAStaleKey() throws Exception {
    FakeKmsClient fake = new FakeKmsClient();
    String arn = fake.createKey("k");
    DecidedKms kms = new DecidedKms(fake);
    TenantDirectory dir = TenantDirectory.of(Map.of("t", TenantKeys.of(arn)));
    PanopsCrypto crypto =
        TestCrypto.builder(kms, dir)
            .probeSettings(KillSwitchChaos.fastProbes())
            .cacheSettings(
                CacheSettings.builder()
                    .encryptMaxAge(Duration.ofSeconds(1))
                    .encryptMaxMessages(LIMIT)
                    .decryptMaxAge(Duration.ofMillis(200))
                    .decryptMaxEntries(64)
                    .build())
            .addRevocationListener(chaos.latchRecorder())
            .build();
    TenantCrypto t = crypto.tenant("t");

    long deadline = System.nanoTime() + RUN.toNanos();
    List<Thread> threads = KillSwitchChaos.workers(WORKERS, seed -> work(t, seed, deadline));
    threads.add(
        chaos.chaos(
            fake,
            arn,
            deadline,
            new SplittableRandom(7),
            r -> Thread.sleep(80 + r.nextInt(150)),
            r -> {
              for (int i = 0; i < 4; i++) {
                Thread.sleep(60 + r.nextInt(60));
                crypto.cache.purge(arn); // as the idle sweep does, between requests and refreshes
              }
            }));
    KillSwitchChaos.runAll(threads, RUN);
    long refreshes = crypto.cache.refreshesStarted();
    crypto.close();

    chaos.assertNothingUnexpected();

    // After the first latch of a disabled window: no encryption or decryption that started then
    // and ended before the key was enabled again succeeded; and every message encrypted after
    // that latch is under a data key KMS generated after it.
    int checked =
        chaos.assertNothingSucceededWhileLatched(sealed, Sealed::start, Sealed::end, "encrypted");
    for (KillSwitchChaos.Latched l : chaos.latchedWindows()) {
      long latch = l.latchedAt();
      for (Sealed s : sealed) {
        if (s.start() > latch) {
          Long decided = kms.decidedAt.get(edk(s.ct()));
          assertNotNull(decided, "a data key KMS never generated");
          assertTrue(
              decided > latch,
              "a data key generated before the latch at "
                  + latch
                  + " (at "
                  + decided
                  + ") was used after it, at "
                  + s.start());
        }
      }
    }
    chaos.assertNoPlaintextWhileLatched();

    // Limits: no data key encrypted more than its limit plus one message per worker.
    Map<String, Integer> perKey = new HashMap<>();
    for (Sealed s : sealed) {
      perKey.merge(edk(s.ct()), 1, Integer::sum);
    }
    perKey.values().forEach(n -> assertTrue(n <= LIMIT + WORKERS, "messages on one key: " + n));

    // Every ciphertext decrypts, with the real data key, for a fresh reader.
    fake.enable(arn);
    try (PanopsCrypto verifier = TestCrypto.unprobed(fake, dir).build()) {
      for (Sealed s : sealed) {
        assertArrayEquals(s.pt(), verifier.tenant("t").decrypt(s.ct(), KC, s.aad()));
      }
    }

    // The run reached what it names.
    assertTrue(checked >= 3, "windows with a latch: " + checked);
    assertTrue(sealed.size() >= 500, "ciphertexts: " + sealed.size());
    assertTrue(chaos.decrypted.size() >= 500, "decryptions: " + chaos.decrypted.size());
    assertTrue(refreshes >= 50, "refreshes ahead: " + refreshes);
    assertTrue(refused.get() >= 20, "refusals while latched: " + refused);
  }

  private void work(TenantCrypto t, long seed, long deadline) {
    SplittableRandom r = new SplittableRandom(seed);
    List<Sealed> mine = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      try {
        if (mine.isEmpty() || r.nextInt(100) < 60) {
          byte[] pt = new byte[r.nextInt(200)];
          r.nextBytes(pt);
          MessageAad aad = MessageAad.of("row", Long.toString(r.nextLong()));
          long start = chaos.tick();
          byte[] ct = t.encrypt(pt, KC, aad);
          Sealed s = new Sealed(ct, pt, aad, start, chaos.tick());
          sealed.add(s);
          if (mine.size() < 64) {
            mine.add(s);
          } else {
            mine.set(r.nextInt(64), s);
          }
        } else {
          Sealed s = mine.get(r.nextInt(mine.size()));
          chaos.timedRead(s.pt(), "wrong plaintext", () -> t.decrypt(s.ct(), KC, s.aad()));
        }
      } catch (KeyRevokedException | KmsUnavailableException e) {
        refused.incrementAndGet();
      } catch (Throwable e) {
        chaos.unexpected.add(e);
      }
    }
  }
}
