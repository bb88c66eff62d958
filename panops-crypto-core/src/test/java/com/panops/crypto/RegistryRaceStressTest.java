package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.KillSwitchChaos.Sealed;
import com.panops.crypto.testkit.FakeKmsClient;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The registry-row cache against the kill switch, under load: workers write compact values (tiny
 * per-key limits, so new data keys are generated and registered all the time), read their own and
 * foreign compact values (written by another instance: rows and data keys not cached), while a
 * chaos thread disables and re-enables the CMK and another keeps dropping the cached rows, so that
 * row look-ups, re-reads, registrations and data-key loads race the latch. KMS answers arrive late
 * (up to 2 ms after they were decided).
 *
 * <p>Interleavings this guards against:
 *
 * <ul>
 *   <li>a row look-up (cache miss, single flight) in flight while the latch is set, its row
 *       arriving after: the row carries no key, so the decryption must still meet the latch
 *       (beforeUse, the data-key cache's epoch check, the latch check after opening);
 *   <li>the stale-row path (a refused row re-read from the registry) running while latched: a
 *       refusal under the current CMK is never retried, and a re-read row meets the latch again, so
 *       re-reading can never be a way around the kill switch;
 *   <li>a new data key generated before a latch and registered (row and decrypt side seeded) after
 *       it: it must not be served (its epoch is older than the key's);
 *   <li>the commitment's "verified for this data key" marker racing a purge and a reload: a data
 *       key reloaded from KMS is a new object and is verified again, so no value opens under a key
 *       the row's commitment was not checked against (every answer is compared with the plaintext);
 *   <li>rows dropped from the cache under the workers' feet: no outcome other than the plaintext,
 *       {@link KeyRevokedException} or {@link KmsUnavailableException} (never a {@link
 *       RegisteredKeyException}: every row exists and is intact).
 * </ul>
 */
class RegistryRaceStressTest {
  static final Duration RUN = Duration.ofSeconds(6);
  static final KeyContext KC = KillSwitchChaos.KC;

  final KillSwitchChaos chaos = new KillSwitchChaos();
  final Queue<Sealed> sealed = new ConcurrentLinkedQueue<>();
  final AtomicLong revokedSeen = new AtomicLong();
  final AtomicLong rowDrops = new AtomicLong();

  @Test
  void rowLookupsAndRegistrations_raceTheLatch_andNothingIsServedWhileLatched() throws Exception {
    FakeKmsClient fake = new FakeKmsClient();
    String arn = fake.createKey("shared");
    TenantDirectory dir = KillSwitchChaos.twoTenantsSharing(arn);
    MemoryRegistry registry = new MemoryRegistry();
    List<Sealed> foreign;
    try (PanopsCrypto writer =
        TestCrypto.unprobed(fake, dir)
            .cacheSettings(CacheSettings.builder().encryptMaxMessages(2).build())
            .dataKeyRegistry(registry)
            .build()) {
      foreign = KillSwitchChaos.writeForeign(writer, 200, TenantCrypto::encryptCompact);
    }

    PanopsCrypto crypto =
        TestCrypto.builder(new LateAnswerKms(fake, 2000), dir)
            .probeSettings(KillSwitchChaos.fastProbes())
            .cacheSettings(
                CacheSettings.builder().encryptMaxMessages(16).decryptMaxEntries(32).build())
            .dataKeyRegistry(registry)
            .addRevocationListener(chaos.latchRecorder())
            .build();

    long deadline = System.nanoTime() + RUN.toNanos();
    List<Thread> threads =
        KillSwitchChaos.workers(3, seed -> work(crypto, foreign, seed, deadline));
    threads.add(chaos.chaos(fake, arn, deadline));
    threads.add(
        new Thread(
            () -> {
              while (System.nanoTime() < deadline) {
                crypto.rows.clear();
                rowDrops.incrementAndGet();
                try {
                  Thread.sleep(3);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "row-dropper"));
    KillSwitchChaos.runAll(threads, RUN);
    crypto.close();

    chaos.assertNothingUnexpected();

    int checkedInWindow = chaos.assertNoPlaintextWhileLatched();

    fake.enable(arn);
    KillSwitchChaos.assertEachDecrypts(
        TestCrypto.unprobed(fake, dir).dataKeyRegistry(registry), sealed);

    assertTrue(chaos.windows.size() >= 4, "disable windows: " + chaos.windows.size());
    assertTrue(checkedInWindow >= 2, "windows with a latch: " + checkedInWindow);
    assertTrue(sealed.size() >= 300, "values written: " + sealed.size());
    assertTrue(chaos.decrypted.size() >= 300, "decryptions: " + chaos.decrypted.size());
    assertTrue(revokedSeen.get() >= 20, "KeyRevokedException: " + revokedSeen);
    assertTrue(registry.all().size() >= 150 + 20, "registrations: " + registry.all().size());
    assertTrue(registry.lookups.get() >= 100, "registry look-ups: " + registry.lookups);
    assertTrue(rowDrops.get() >= 100, "row cache drops: " + rowDrops);
  }

  private void work(PanopsCrypto crypto, List<Sealed> foreign, long seed, long deadline) {
    SplittableRandom r = new SplittableRandom(seed);
    while (System.nanoTime() < deadline) {
      int op = r.nextInt(100);
      String t = r.nextBoolean() ? "a" : "b";
      try {
        if (op < 30) {
          byte[] pt = new byte[r.nextInt(100)];
          r.nextBytes(pt);
          MessageAad aad = MessageAad.of("row", "e" + r.nextInt());
          sealed.add(new Sealed(t, crypto.tenant(t).encryptCompact(pt, KC, aad), pt, aad));
        } else if (op < 75) {
          chaos.decryptOne(crypto, foreign.get(r.nextInt(foreign.size())));
        } else {
          Sealed own = sealed.peek();
          if (own != null) {
            chaos.decryptOne(crypto, own);
          }
        }
      } catch (KeyRevokedException e) {
        revokedSeen.incrementAndGet();
      } catch (KmsUnavailableException e) {
        // a probe that did not finish in time: allowed, counts as refused
      } catch (Throwable e) {
        chaos.unexpected.add(e);
      }
    }
  }
}
