package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.FakeKmsClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The kill switch under load: worker threads encrypt, decrypt (from cache and through KMS) and
 * stream, for two tenants sharing one CMK, while a chaos thread disables and re-enables the key,
 * tampered ciphertexts inject per-ciphertext KMS failures, and small cache limits make entries
 * retire and get evicted under the workers' feet. KMS answers arrive late (decided first, delivered
 * up to 2 ms later) so that answers decided before a disable arrive after the latch.
 *
 * <p>Interleavings this guards against, each of which the previous design allowed:
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
  static final KeyContext KC = KeyContext.of("class", "mail");

  record Result(long start, long end) {}

  record Sealed(String tenant, byte[] ct, byte[] pt, MessageAad aad) {}

  record Window(long disabledAt, long enabledAt) {}

  final AtomicLong ticks = new AtomicLong();
  final Queue<Result> decrypted = new ConcurrentLinkedQueue<>();
  final Queue<Sealed> sealed = new ConcurrentLinkedQueue<>();
  final List<long[]> revokedAt = new CopyOnWriteArrayList<>(); // {tick}
  final List<Window> windows = new CopyOnWriteArrayList<>();
  final Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
  final AtomicLong revokedSeen = new AtomicLong();
  final AtomicLong integritySeen = new AtomicLong();
  final AtomicLong unavailableSeen = new AtomicLong();

  @Test
  void underConcurrentRevocation_everyCiphertextDecrypts_andNothingIsServedWhileLatched()
      throws Exception {
    FakeKmsClient fake = new FakeKmsClient();
    String arn = fake.createKey("shared");
    TenantDirectory dir =
        TenantDirectory.of(Map.of("a", TenantKeys.of(arn), "b", TenantKeys.of(arn)));
    // Foreign ciphertexts, one data key each, so that reading them misses the cache and loads
    // data keys through KMS Decrypt while the chaos runs.
    List<Sealed> foreign = new ArrayList<>();
    try (PanopsCrypto writer =
        TestCrypto.unprobed(fake, dir)
            .cacheSettings(CacheSettings.builder().encryptMaxMessages(1).build())
            .frameSize(4096)
            .build()) {
      SplittableRandom r = new SplittableRandom(1);
      for (int i = 0; i < 300; i++) {
        String t = i % 2 == 0 ? "a" : "b";
        byte[] pt = new byte[r.nextInt(9000)];
        r.nextBytes(pt);
        MessageAad aad = MessageAad.of("row", "f" + i);
        foreign.add(new Sealed(t, writer.tenant(t).encrypt(pt, KC, aad), pt, aad));
      }
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
            .probeSettings(
                ProbeSettings.every(Duration.ofMillis(50))
                    .withSettle(2, Duration.ofMillis(100))
                    .withTimeout(Duration.ofSeconds(1)))
            .cacheSettings(
                CacheSettings.builder().encryptMaxMessages(64).decryptMaxEntries(32).build())
            .addRevocationListener(
                e -> {
                  if (e.kind() == RevocationEvent.Kind.REVOKED) {
                    revokedAt.add(new long[] {ticks.incrementAndGet()});
                  }
                })
            .frameSize(4096)
            .build();

    long deadline = System.nanoTime() + RUN.toNanos();
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < 3; w++) {
      long seed = w;
      threads.add(new Thread(() -> work(crypto, foreign, tampered, seed, deadline), "worker-" + w));
    }
    threads.add(new Thread(() -> chaos(fake, arn, deadline), "chaos"));
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(RUN.toMillis() + 30_000);
      assertFalse(t.isAlive(), t.getName() + " is stuck");
    }
    crypto.close();

    assertTrue(unexpected.isEmpty(), "undocumented outcomes: " + describe(unexpected));

    // No success for a decrypt that started after a latch inside a disabled window and ended
    // before the key was enabled again: once latched there, nothing may lift the latch in time.
    int checkedInWindow = 0;
    for (Window w : windows) {
      long firstLatch = Long.MAX_VALUE;
      for (long[] r : revokedAt) {
        if (r[0] > w.disabledAt() && r[0] < w.enabledAt()) {
          firstLatch = Math.min(firstLatch, r[0]);
        }
      }
      if (firstLatch == Long.MAX_VALUE) {
        continue;
      }
      checkedInWindow++;
      for (Result d : decrypted) {
        assertFalse(
            d.start() > firstLatch && d.end() < w.enabledAt(),
            "plaintext returned while latched: call "
                + d
                + ", latched at "
                + firstLatch
                + ", enabled at "
                + w.enabledAt());
      }
    }

    // Every ciphertext the library returned decrypts, with the real data key, for a fresh reader.
    fake.enable(arn);
    try (PanopsCrypto verifier = TestCrypto.unprobed(fake, dir).build()) {
      for (Sealed s : sealed) {
        assertArrayEquals(
            s.pt(), verifier.tenant(s.tenant()).decrypt(s.ct(), KC, s.aad()), "sealed " + s);
      }
    }

    // The run reached what it names.
    assertTrue(windows.size() >= 5, "disable windows: " + windows.size());
    assertTrue(checkedInWindow >= 3, "windows with a latch: " + checkedInWindow);
    assertTrue(sealed.size() >= 500, "ciphertexts: " + sealed.size());
    assertTrue(decrypted.size() >= 500, "decryptions: " + decrypted.size());
    assertTrue(revokedSeen.get() >= 50, "KeyRevokedException: " + revokedSeen);
    assertTrue(integritySeen.get() >= 1, "IntegrityException for tampered rows: " + integritySeen);
    assertTrue(fake.decryptCalls.get() >= 100, "KMS Decrypts: " + fake.decryptCalls);
  }

  private void chaos(FakeKmsClient fake, String arn, long deadline) {
    SplittableRandom r = new SplittableRandom(99);
    try {
      Thread.sleep(200);
      while (System.nanoTime() < deadline - 300_000_000L) {
        fake.disable(arn);
        long d = ticks.incrementAndGet(); // after: at d the key is disabled
        Thread.sleep(60 + r.nextInt(200));
        long e = ticks.incrementAndGet(); // before: up to e the key is still disabled
        fake.enable(arn);
        windows.add(new Window(d, e));
        Thread.sleep(300 + r.nextInt(300));
      }
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
    }
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
          decryptOne(crypto, foreign.get(r.nextInt(foreign.size())));
        } else if (op < 75) {
          Sealed own = sealed.peek();
          if (own != null) {
            decryptOne(crypto, own);
          }
        } else if (op < 85) {
          streamOne(crypto.tenant(t), t, r);
        } else if (op < 92) {
          streamDecryptOne(crypto, foreign.get(r.nextInt(foreign.size())));
        } else {
          Sealed bad = tampered.get(r.nextInt(tampered.size()));
          try {
            crypto.tenant(bad.tenant()).decrypt(bad.ct(), KC, bad.aad());
            unexpected.add(new AssertionError("a tampered ciphertext decrypted"));
          } catch (IntegrityException e) {
            integritySeen.incrementAndGet();
          }
        }
      } catch (KeyRevokedException e) {
        revokedSeen.incrementAndGet();
      } catch (KmsUnavailableException e) {
        unavailableSeen.incrementAndGet();
      } catch (Throwable e) {
        unexpected.add(e);
      }
    }
  }

  private void encryptOne(TenantCrypto tc, String t, SplittableRandom r) {
    byte[] pt = new byte[r.nextInt(300)];
    r.nextBytes(pt);
    MessageAad aad = MessageAad.of("row", "e" + r.nextInt());
    sealed.add(new Sealed(t, tc.encrypt(pt, KC, aad), pt, aad));
  }

  private void decryptOne(PanopsCrypto crypto, Sealed s) {
    long start = ticks.incrementAndGet();
    byte[] got = crypto.tenant(s.tenant()).decrypt(s.ct(), KC, s.aad());
    long end = ticks.incrementAndGet();
    if (!Arrays.equals(s.pt(), got)) {
      unexpected.add(new AssertionError("wrong plaintext"));
    }
    decrypted.add(new Result(start, end));
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
        unexpected.add(new AssertionError("close() of a failed stream succeeded"));
      } catch (IOException expected) {
        // a failed stream never completes its message
      }
      throw e;
    }
    out.close();
    sealed.add(new Sealed(t, sink.toByteArray(), pt, aad));
  }

  private void streamDecryptOne(PanopsCrypto crypto, Sealed s) throws IOException {
    long start = ticks.incrementAndGet();
    byte[] got;
    try (InputStream in =
        crypto.tenant(s.tenant()).decryptingStream(new ByteArrayInputStream(s.ct()), KC, s.aad())) {
      got = in.readAllBytes();
    }
    long end = ticks.incrementAndGet();
    if (!Arrays.equals(s.pt(), got)) {
      unexpected.add(new AssertionError("wrong plaintext from a stream"));
    }
    decrypted.add(new Result(start, end));
  }

  private static String describe(Queue<Throwable> q) {
    StringBuilder sb = new StringBuilder();
    int n = 0;
    for (Throwable t : q) {
      if (n++ < 5) {
        java.io.StringWriter w = new java.io.StringWriter();
        t.printStackTrace(new java.io.PrintWriter(w));
        sb.append('\n').append(w.toString(), 0, Math.min(1500, w.toString().length()));
      }
    }
    return q.size() + " " + sb;
  }
}
