package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.LocalKmsSupport;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * One tampered row re-read in a loop must not spend the account's KMS quota. Two tenants share a
 * CMK under LocalKms's request quota (100 cryptographic requests a second); one tenant's row has an
 * altered encrypted data key. Before KMS's refusal of a ciphertext was remembered, every read of
 * that row cost a refused Decrypt and a probe: two threads were enough to throttle KMS, latch the
 * CMK as THROTTLED over and over, and refuse the other tenant almost every request.
 *
 * <p>The interleavings raced here: many threads miss the cache for the bad row at once (one loads,
 * the others wait for its failed load and then load again themselves); readers arrive while the
 * refusal's probe is still running (they must take its outcome, not start their own or call KMS);
 * readers arrive after it was judged (answered from memory, after the latch check); scheduled
 * probes of the shared CMK run throughout; the same threads read the same tenant's good row, whose
 * encrypted data key differs from the bad one in one byte, between bad reads (the memory must never
 * answer for it); the other tenant reads from the warm cache throughout.
 */
class BadRowAmplificationIT {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");
  static final Duration RUN = Duration.ofSeconds(10);
  static final Duration INTERVAL = Duration.ofSeconds(2);

  LocalKms kms;
  KmsClient client;
  String arn;
  PanopsCrypto crypto;
  final List<RevocationEvent> events = new CopyOnWriteArrayList<>();
  final AtomicLong refusedByKms = new AtomicLong();
  final AtomicLong refusedFromMemory = new AtomicLong();

  @BeforeEach
  void setUp() {
    kms = LocalKms.builder().requestRate(100, 100).start();
    client = LocalKmsSupport.client(kms, kms.vendor());
    arn = kms.createKey("shared by acme and globex");
    crypto =
        TestCrypto.builder(
                client,
                TenantDirectory.of(
                    Map.of("acme", TenantKeys.of(arn), "globex", TenantKeys.of(arn))))
            .probeSettings(
                ProbeSettings.every(INTERVAL)
                    .withSettle(2, Duration.ofSeconds(1))
                    .withTimeout(Duration.ofSeconds(2)))
            .metrics(
                new CryptoMetrics() {
                  @Override
                  public void ciphertextRefused(boolean fromMemory) {
                    (fromMemory ? refusedFromMemory : refusedByKms).incrementAndGet();
                  }
                })
            .addRevocationListener(events::add)
            .build();
  }

  @AfterEach
  void tearDown() {
    crypto.close();
    client.close();
    kms.close();
  }

  static byte[] tampered(byte[] ct) {
    return tampered(ct, 20);
  }

  /**
   * {@code ct} with one bit flipped {@code back} bytes before the end of its encrypted data key.
   */
  static byte[] tampered(byte[] ct, int back) {
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    byte[] bad = ct.clone();
    bad[h.edkOffset() + h.edkLength() - back] ^= 1; // inside the KMS blob's ciphertext
    return bad;
  }

  /** Decrypts of a data key (not probes) for {@code tenant} in the trail since {@code from}. */
  long dataKeyDecrypts(String tenant, Instant from, boolean failed) {
    return kms.trail().stream()
        .filter(e -> !e.eventTime().isBefore(from))
        .filter(e -> e.eventName().equals("Decrypt"))
        .filter(e -> tenant.equals(e.encryptionContext().get("panops:tenant")))
        .filter(e -> !"liveness-probe".equals(e.encryptionContext().get("panops:purpose")))
        .filter(e -> e.failed() == failed)
        .count();
  }

  long probeDecrypts(Instant from) {
    return kms.trail().stream()
        .filter(e -> !e.eventTime().isBefore(from))
        .filter(e -> e.eventName().equals("Decrypt"))
        .filter(e -> "liveness-probe".equals(e.encryptionContext().get("panops:purpose")))
        .count();
  }

  @Test
  void
      manyThreadsRereadingOneBadRowFor10s_costABoundedNumberOfKmsCalls_latchNothing_andTheOtherTenantIsServedEveryRequest()
          throws Exception {
    TenantCrypto acme = crypto.tenant("acme");
    TenantCrypto globex = crypto.tenant("globex");
    byte[] acmeGood = "acme's own row".getBytes();
    byte[] acmeCt = acme.encrypt(acmeGood, KC, AAD);
    byte[] bad = tampered(acmeCt);
    List<byte[]> globexPt = new ArrayList<>();
    List<byte[]> globexCt = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      byte[] pt = ("globex row " + i).getBytes();
      globexPt.add(pt);
      globexCt.add(globex.encrypt(pt, KC, MessageAad.of("row", "g" + i)));
    }
    Instant start = Instant.now();
    long deadline = System.nanoTime() + RUN.toNanos();
    Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
    AtomicLong badReads = new AtomicLong();
    AtomicLong acmeGoodReads = new AtomicLong();
    AtomicLong globexReads = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      threads.add(
          new Thread(
              () -> {
                while (System.nanoTime() < deadline) {
                  try {
                    byte[] got = acme.decrypt(bad, KC, AAD);
                    unexpected.add(new AssertionError("the bad row decrypted: " + got.length));
                  } catch (IntegrityException expected) {
                    badReads.incrementAndGet();
                  } catch (Throwable t) {
                    unexpected.add(t);
                  }
                  try {
                    if (!Arrays.equals(acmeGood, acme.decrypt(acmeCt, KC, AAD))) {
                      unexpected.add(new AssertionError("acme's good row: wrong plaintext"));
                    }
                    acmeGoodReads.incrementAndGet();
                  } catch (Throwable t) {
                    unexpected.add(t);
                  }
                }
              },
              "bad-row-" + w));
    }
    for (int w = 0; w < 2; w++) {
      int first = w;
      threads.add(
          new Thread(
              () -> {
                for (int i = first; System.nanoTime() < deadline; i++) {
                  int k = i % globexCt.size();
                  try {
                    byte[] got = globex.decrypt(globexCt.get(k), KC, MessageAad.of("row", "g" + k));
                    if (!Arrays.equals(globexPt.get(k), got)) {
                      unexpected.add(new AssertionError("globex row " + k + ": wrong plaintext"));
                    }
                    globexReads.incrementAndGet();
                  } catch (Throwable t) {
                    unexpected.add(t);
                  }
                }
              },
              "other-tenant-" + w));
    }
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join();
    }
    List<Throwable> seen = new ArrayList<>(unexpected);
    assertTrue(seen.isEmpty(), seen.size() + " unexpected answers, first: " + first(seen));
    assertTrue(badReads.get() > 1_000, "the bad row was re-read: " + badReads.get());
    assertTrue(globexReads.get() > 1_000, "the other tenant was served: " + globexReads.get());
    assertTrue(acmeGoodReads.get() > 1_000);
    assertEquals(List.of(), events, "0 latches");
    assertFalse(crypto.isRevoked(arn));

    assertEquals(1, dataKeyDecrypts("acme", start, true), "the bad row's data key: one refusal");
    assertEquals(0, dataKeyDecrypts("globex", start, false), "globex read from the warm cache");
    long probes = probeDecrypts(start);
    long scheduled = RUN.toMillis() / INTERVAL.toMillis() + 2;
    assertTrue(
        probes <= scheduled + 1, "probes: " + probes + " (scheduled at most " + scheduled + ")");
    assertEquals(
        0,
        kms.trail().stream().filter(e -> "ThrottlingException".equals(e.errorCode())).count(),
        "KMS never throttled");
    assertEquals(1, refusedByKms.get(), "one read was answered by KMS");
    assertEquals(
        badReads.get(), refusedByKms.get() + refusedFromMemory.get(), "every read counted");
    System.out.printf(
        "bad-row reads %d, acme good reads %d, globex reads %d, data-key Decrypts of the bad row %d,"
            + " probe Decrypts %d in %s%n",
        badReads.get(),
        acmeGoodReads.get(),
        globexReads.get(),
        dataKeyDecrypts("acme", start, true),
        probes,
        RUN);
  }

  @Test
  void aRememberedBadRow_stillReadsAsRevokedWhileTheKeyIsLatched_andAsBadAgainAfterTheRestore()
      throws Exception {
    TenantCrypto acme = crypto.tenant("acme");
    byte[] ct = acme.encrypt("row".getBytes(), KC, AAD);
    byte[] bad = tampered(ct);
    Instant start = Instant.now();
    assertThrows(IntegrityException.class, () -> acme.decrypt(bad, KC, AAD));
    assertThrows(IntegrityException.class, () -> acme.decrypt(bad, KC, AAD));
    kms.disableKey(arn);
    assertFalse(crypto.probe(arn));
    assertTrue(crypto.isRevoked(arn));
    KeyRevokedException revoked =
        assertThrows(KeyRevokedException.class, () -> acme.decrypt(bad, KC, AAD));
    assertNotNull(revoked.reason());
    kms.enableKey(arn);
    long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (crypto.isRevoked(arn) && System.nanoTime() < until) {
      crypto.probe(arn);
      Thread.sleep(200);
    }
    assertFalse(crypto.isRevoked(arn), "restored once settled");
    assertThrows(IntegrityException.class, () -> acme.decrypt(bad, KC, AAD));
    assertArrayEquals("row".getBytes(), acme.decrypt(ct, KC, AAD));
    assertEquals(1, dataKeyDecrypts("acme", start, true), "KMS was asked about the bad row once");
  }

  @Test
  void anotherBadRow_isAskedOfKmsItself_theMemoryAnswersOnlyForTheRowItRefused() {
    TenantCrypto acme = crypto.tenant("acme");
    // one data key (cached), so the two rows' encrypted data keys differ only where altered
    byte[] one = tampered(acme.encrypt("one".getBytes(), KC, AAD), 20);
    byte[] two = tampered(acme.encrypt("two".getBytes(), KC, AAD), 21);
    Instant start = Instant.now();
    for (int i = 0; i < 5; i++) {
      assertThrows(IntegrityException.class, () -> acme.decrypt(one, KC, AAD));
      assertThrows(IntegrityException.class, () -> acme.decrypt(two, KC, AAD));
    }
    assertEquals(2, dataKeyDecrypts("acme", start, true), "one refusal per distinct bad row");
    List<TrailEvent> refused =
        kms.trail().stream()
            .filter(e -> !e.eventTime().isBefore(start))
            .filter(TrailEvent::failed)
            .toList();
    assertTrue(
        refused.stream().allMatch(e -> "InvalidCiphertextException".equals(e.errorCode())),
        refused.toString());
  }

  private static String first(List<Throwable> seen) {
    if (seen.isEmpty()) {
      return "none";
    }
    java.io.StringWriter w = new java.io.StringWriter();
    seen.get(0).printStackTrace(new java.io.PrintWriter(w));
    return w.toString();
  }
}
