package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.KillSwitchChaos.Sealed;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.FakeKmsClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The kill switch under load: worker threads encrypt, decrypt (from cache and through KMS) and
 * stream, for two tenants sharing one CMK, while a chaos thread disables and re-enables the key,
 * tampered ciphertexts inject per-ciphertext KMS failures, and small cache limits make entries
 * retire and get evicted under the workers' feet. KMS answers arrive late (decided first, delivered
 * up to 2 ms later) so that answers decided before a disable arrive after the latch.
 *
 * <p>Interleavings this guards against:
 *
 * <ul>
 *   <li>a purge wiping a data key between the lease-free check and its use, so a frame is sealed
 *       under an all-zero key (every ciphertext returned is decrypted at the end, by a fresh
 *       instance, with the real data key from KMS);
 *   <li>a probe answered before the disable lifting the latch set after it, and a cache load in
 *       flight during a purge re-inserting its key (no decrypt that started after a REVOKED event
 *       inside a disabled window, and finished before the key was re-enabled, may succeed);
 *   <li>a tampered row's per-ciphertext failure latching the shared CMK and killing the other
 *       tenant's streams (such failures may only give IntegrityException, or the verdict of the
 *       probe about the key);
 *   <li>an undocumented exception type escaping (IllegalStateException "data key destroyed").
 * </ul>
 */
class KillSwitchStressTest {
  static final Duration RUN = Duration.ofSeconds(8);
  static final KeyContext KC = KillSwitchChaos.KC;

  final KillSwitchChaos chaos = new KillSwitchChaos();
  final Queue<Sealed> sealed = new ConcurrentLinkedQueue<>();
  final AtomicLong revokedSeen = new AtomicLong();
  final AtomicLong integritySeen = new AtomicLong();
  final AtomicLong unavailableSeen = new AtomicLong();

  @Test
  void underConcurrentRevocation_everyCiphertextDecrypts_andNothingIsServedWhileLatched()
      throws Exception {
    FakeKmsClient fake = new FakeKmsClient();
    String arn = fake.createKey("shared");
    TenantDirectory dir = KillSwitchChaos.twoTenantsSharing(arn);
    // Foreign ciphertexts, one data key each, so that reading them misses the cache and loads
    // data keys through KMS Decrypt while the chaos runs.
    List<Sealed> foreign;
    try (PanopsCrypto writer =
        TestCrypto.unprobed(fake, dir)
            .cacheSettings(CacheSettings.builder().encryptMaxMessages(1).build())
            .frameSize(4096)
            .build()) {
      foreign = KillSwitchChaos.writeForeign(writer, 9000, TenantCrypto::encrypt);
    }
    List<Sealed> tampered = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      Sealed s = foreign.get(i);
      byte[] bad = s.ct().clone();
      MessageHeader h = MessageHeader.parse(bad, 0, bad.length);
      bad[h.edkOffset() + h.edkLength() - 20] ^= 1; // inside the KMS blob's ciphertext
      tampered.add(new Sealed(s.tenant(), bad, s.pt(), s.aad()));
    }

    PanopsCrypto crypto =
        TestCrypto.builder(new LateAnswerKms(fake, 2000), dir)
            .probeSettings(KillSwitchChaos.fastProbes())
            .cacheSettings(
                CacheSettings.builder().encryptMaxMessages(64).decryptMaxEntries(32).build())
            .addRevocationListener(chaos.latchRecorder())
            .frameSize(4096)
            .build();

    long deadline = System.nanoTime() + RUN.toNanos();
    List<Thread> threads =
        KillSwitchChaos.workers(3, seed -> work(crypto, foreign, tampered, seed, deadline));
    threads.add(chaos.chaos(fake, arn, deadline));
    KillSwitchChaos.runAll(threads, RUN);
    crypto.close();

    chaos.assertNothingUnexpected();

    // No success for a decrypt that started after a latch inside a disabled window and ended
    // before the key was enabled again: once latched there, nothing may lift the latch in time.
    int checkedInWindow = chaos.assertNoPlaintextWhileLatched();

    // Every ciphertext the library returned decrypts, with the real data key, for a fresh reader.
    fake.enable(arn);
    KillSwitchChaos.assertEachDecrypts(TestCrypto.unprobed(fake, dir), sealed);

    // The run reached what it names.
    assertTrue(chaos.windows.size() >= 5, "disable windows: " + chaos.windows.size());
    assertTrue(checkedInWindow >= 3, "windows with a latch: " + checkedInWindow);
    assertTrue(sealed.size() >= 500, "ciphertexts: " + sealed.size());
    assertTrue(chaos.decrypted.size() >= 500, "decryptions: " + chaos.decrypted.size());
    assertTrue(revokedSeen.get() >= 50, "KeyRevokedException: " + revokedSeen);
    assertTrue(integritySeen.get() >= 1, "IntegrityException for tampered rows: " + integritySeen);
    assertTrue(fake.decryptCalls.get() >= 100, "KMS Decrypts: " + fake.decryptCalls);
  }

  private void work(
      PanopsCrypto crypto, List<Sealed> foreign, List<Sealed> tampered, long seed, long deadline) {
    SplittableRandom r = new SplittableRandom(seed);
    while (System.nanoTime() < deadline) {
      int op = r.nextInt(100);
      String t = r.nextBoolean() ? "a" : "b";
      try {
        if (op < 30) {
          encryptOne(crypto.tenant(t), t, r);
        } else if (op < 65) {
          chaos.decryptOne(crypto, foreign.get(r.nextInt(foreign.size())));
        } else if (op < 75) {
          Sealed own = sealed.peek();
          if (own != null) {
            chaos.decryptOne(crypto, own);
          }
        } else if (op < 85) {
          streamOne(crypto.tenant(t), t, r);
        } else if (op < 92) {
          streamDecryptOne(crypto, foreign.get(r.nextInt(foreign.size())));
        } else {
          Sealed bad = tampered.get(r.nextInt(tampered.size()));
          try {
            crypto.tenant(bad.tenant()).decrypt(bad.ct(), KC, bad.aad());
            chaos.unexpected.add(new AssertionError("a tampered ciphertext decrypted"));
          } catch (IntegrityException e) {
            integritySeen.incrementAndGet();
          }
        }
      } catch (KeyRevokedException e) {
        revokedSeen.incrementAndGet();
      } catch (KmsUnavailableException e) {
        unavailableSeen.incrementAndGet();
      } catch (Throwable e) {
        chaos.unexpected.add(e);
      }
    }
  }

  private void encryptOne(TenantCrypto tc, String t, SplittableRandom r) {
    byte[] pt = new byte[r.nextInt(300)];
    r.nextBytes(pt);
    MessageAad aad = MessageAad.of("row", "e" + r.nextInt());
    sealed.add(new Sealed(t, tc.encrypt(pt, KC, aad), pt, aad));
  }

  private void streamOne(TenantCrypto tc, String t, SplittableRandom r) throws IOException {
    byte[] pt = new byte[4096 * 2 + r.nextInt(4096)];
    r.nextBytes(pt);
    MessageAad aad = MessageAad.of("object", "s" + r.nextInt());
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    OutputStream out = tc.encryptingStream(sink, KC, aad);
    try {
      out.write(pt, 0, 5000);
      out.write(pt, 5000, pt.length - 5000);
    } catch (RuntimeException | IOException e) {
      try {
        out.close();
        chaos.unexpected.add(new AssertionError("close() of a failed stream succeeded"));
      } catch (IOException expected) {
        // a failed stream never completes its message
      }
      throw e;
    }
    out.close();
    sealed.add(new Sealed(t, sink.toByteArray(), pt, aad));
  }

  private void streamDecryptOne(PanopsCrypto crypto, Sealed s) throws IOException {
    chaos.timedRead(
        s.pt(),
        "wrong plaintext from a stream",
        () -> {
          try (InputStream in =
              crypto
                  .tenant(s.tenant())
                  .decryptingStream(new ByteArrayInputStream(s.ct()), KC, s.aad())) {
            return in.readAllBytes();
          }
        });
  }
}
