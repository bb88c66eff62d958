package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.testkit.FakeKmsClient;
import com.panops.crypto.testkit.ForwardingKmsClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.KmsInternalException;

/**
 * The library fails closed whatever user code and KMS do: sinks and listeners that throw (even
 * checked exceptions, as Kotlin code does), probes that throw, interrupted callers, streams with
 * bytes already buffered, keys that are idle or stale, canaries that go bad, malformed input.
 */
class FailClosedTest {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  FakeKmsClient fake;
  String arn;
  final List<String> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    fake = new FakeKmsClient();
    arn = fake.createKey("k");
  }

  @AfterEach
  void clearInterrupt() {
    Thread.interrupted();
  }

  PanopsCrypto.Builder builder(KmsClient kms, ProbeSettings probes) {
    return PanopsCrypto.builder()
        .kmsClient(kms)
        .allowInsecureLocalKmsEndpoint()
        .tenantDirectory(
            TenantDirectory.of(Map.of("t", TenantKeys.of(arn), "u", TenantKeys.of(arn))))
        .probeSettings(probes)
        .auditSink(AuditSink.none())
        .addRevocationListener(e -> events.add(e.kind() + ":" + e.reason()));
  }

  /** A ciphertext whose data key this instance has not cached. */
  byte[] foreign(String tenant) {
    try (PanopsCrypto w = builder(fake, ProbeSettings.off()).build()) {
      return w.tenant(tenant).encrypt("secret".getBytes(), KC, AAD);
    }
  }

  @SuppressWarnings("unchecked")
  static <E extends Throwable> void sneaky(Throwable t) throws E {
    throw (E) t;
  }

  /** What a Kotlin sink does: throw a checked exception it never declared. */
  static void kotlinThrow() {
    FailClosedTest.<RuntimeException>sneaky(new IOException("statsd socket closed"));
  }

  /** Metrics that throw (a checked exception) from every method. */
  static final CryptoMetrics THROWING_METRICS =
      new CryptoMetrics() {
        @Override
        public void cacheMiss(String side) {
          kotlinThrow();
        }

        @Override
        public void cacheHit(String side) {
          kotlinThrow();
        }

        @Override
        public void kmsCall(String op, String purpose, boolean success, Duration latency) {
          kotlinThrow();
        }

        @Override
        public void revoked(RevocationReason reason) {
          kotlinThrow();
        }

        @Override
        public void restored() {
          kotlinThrow();
        }

        @Override
        public void probe(boolean success, Duration latency) {
          kotlinThrow();
        }
      };

  @Test
  void sinksAndListenersThatThrow_changeNothing_theKeyLatchesSettlesAndRestoresAsUsual() {
    byte[] ct = foreign("t");
    try (PanopsCrypto c =
        builder(fake, ProbeSettings.off().withSettle(2, Duration.ZERO))
            .metrics(THROWING_METRICS)
            .auditSink(e -> kotlinThrow())
            .addRevocationListener(e -> kotlinThrow())
            .build()) {
      TenantCrypto t = c.tenant("t");
      assertNotNull(t.encrypt(new byte[10], KC, AAD), "encrypt works with a throwing audit sink");
      fake.disable(arn);
      KeyRevokedException e = assertThrows(KeyRevokedException.class, () -> t.decrypt(ct, KC, AAD));
      assertEquals(RevocationReason.DISABLED, e.reason());
      assertTrue(c.isRevoked(arn));
      assertFalse(c.probe(arn));
      fake.enable(arn);
      assertTrue(c.probe(arn));
      assertTrue(c.isRevoked(arn), "a customer-action latch still needs two successes");
      assertTrue(c.probe(arn));
      assertFalse(c.isRevoked(arn));
      assertArrayEquals("secret".getBytes(), t.decrypt(ct, KC, AAD));
      assertEquals(List.of("REVOKED:DISABLED", "RESTORED:null"), events);
    }
  }

  @Test
  void anInterruptedCaller_failsItsOwnCall_andLatchesNothing() {
    byte[] ctT = foreign("t");
    try (PanopsCrypto c = builder(fake, ProbeSettings.off()).build()) {
      byte[] ctU = c.tenant("u").encrypt(new byte[10], KC, AAD); // the other tenant is warm
      // Tenant t's request was cancelled (Future.cancel(true)): its KMS call is abandoned.
      KmsClient interrupting =
          new ForwardingKmsClient(fake) {
            @Override
            public DecryptResponse decrypt(DecryptRequest r) {
              Thread.currentThread().interrupt();
              throw software.amazon.awssdk.core.exception.AbortedException.builder()
                  .message("Thread was interrupted")
                  .build();
            }
          };
      try (PanopsCrypto cancelled = builder(interrupting, ProbeSettings.off()).build()) {
        assertThrows(
            KmsUnavailableException.class, () -> cancelled.tenant("t").decrypt(ctT, KC, AAD));
        assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
        assertFalse(cancelled.isRevoked(arn));
      }
      assertArrayEquals(new byte[10], c.tenant("u").decrypt(ctU, KC, AAD));
      assertTrue(events.isEmpty(), events.toString());
    }
  }

  @Test
  void restoredIsNeverDeliveredAfterANewerRevoked() throws Exception {
    byte[] ct = foreign("t");
    CountDownLatch inRestored = new CountDownLatch(1);
    CountDownLatch go = new CountDownLatch(1);
    CryptoMetrics slowRestored =
        new CryptoMetrics() {
          @Override
          public void restored() {
            inRestored.countDown();
            try {
              go.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
        };
    ExecutorService ex = Executors.newSingleThreadExecutor();
    try (PanopsCrypto c =
        builder(fake, ProbeSettings.off().withSettle(1, Duration.ZERO))
            .metrics(slowRestored)
            .build()) {
      TenantCrypto t = c.tenant("t");
      t.encrypt(new byte[10], KC, AAD);
      fake.failWith(() -> KmsInternalException.builder().message("500").statusCode(500).build());
      assertFalse(c.probe(arn)); // a transport latch
      fake.failWith(null);
      Future<Boolean> lifting = ex.submit(() -> c.probe(arn));
      assertTrue(inRestored.await(5, TimeUnit.SECONDS)); // lifted, RESTORED being delivered
      fake.disable(arn);
      Future<Throwable> read =
          ex.submit(
              () -> {
                try {
                  t.decrypt(ct, KC, AAD);
                  return null;
                } catch (Throwable x) {
                  return x;
                }
              });
      Thread.sleep(100);
      go.countDown();
      assertTrue(lifting.get(5, TimeUnit.SECONDS));
      assertInstanceOf(KeyRevokedException.class, read.get(5, TimeUnit.SECONDS));
      assertTrue(c.isRevoked(arn));
      assertEquals(
          List.of("REVOKED:UNAVAILABLE", "RESTORED:null", "REVOKED:DISABLED"),
          events,
          "listeners see the transitions in order, and the last one is the state");
    } finally {
      ex.shutdownNow();
    }
  }

  @Test
  void aDecryptingStream_servesNoBufferedByteAfterItsKeyIsLatched() throws Exception {
    try (PanopsCrypto c = builder(fake, ProbeSettings.off()).build()) {
      TenantCrypto t = c.tenant("t");
      byte[] ct = t.encrypt(new byte[200_000], KC, AAD); // 64 KiB frames
      InputStream in = t.decryptingStream(new ByteArrayInputStream(ct), KC, AAD);
      assertEquals(0, in.read()); // one frame opened, 65,535 bytes buffered
      fake.disable(arn);
      assertFalse(c.probe(arn));
      assertThrows(KeyRevokedException.class, () -> in.read(new byte[8192]));
      assertThrows(IntegrityException.class, () -> in.read(new byte[8192]), "stays failed");
    }
  }

  @Test
  void aHotKeyIsNeverTakenForIdle_evenWithAnIdleTimeoutBelowOneSecond() throws Exception {
    try (PanopsCrypto c =
        builder(
                fake,
                ProbeSettings.every(Duration.ofMillis(100)).withIdleTimeout(Duration.ofMillis(200)))
            .build()) {
      TenantCrypto t = c.tenant("t");
      long end = System.nanoTime() + 1_500_000_000L;
      while (System.nanoTime() < end) {
        t.encrypt(new byte[10], KC, AAD);
        Thread.sleep(2);
      }
      assertEquals(1, fake.generateDataKeyCalls.get(), "one data key: the hot key was not purged");
      assertTrue(fake.decryptCalls.get() >= 8, "probed every interval: " + fake.decryptCalls);
    }
  }

  @Test
  void aStaleKey_isConfirmedByTheRequestsOwnProbe_andFailsClosedIfKmsRefuses() {
    FakeTicker ticker = new FakeTicker();
    try (PanopsCrypto c =
        builder(fake, ProbeSettings.every(Duration.ofMinutes(1))).ticker(ticker).build()) {
      TenantCrypto t = c.tenant("t");
      byte[] ct = t.encrypt(new byte[10], KC, AAD);
      long before = fake.decryptCalls.get();
      ticker.advance(Duration.ofMinutes(3)); // no proof of life for three intervals
      assertArrayEquals(new byte[10], t.decrypt(ct, KC, AAD));
      assertEquals(before + 1, fake.decryptCalls.get(), "the request probed first");
      ticker.advance(Duration.ofMinutes(3));
      fake.disable(arn);
      KeyRevokedException e = assertThrows(KeyRevokedException.class, () -> t.decrypt(ct, KC, AAD));
      assertEquals(RevocationReason.DISABLED, e.reason());
    }
  }

  @Test
  void aStaleKey_whoseProbeDoesNotFinishInTime_failsClosed() {
    FakeTicker ticker = new FakeTicker();
    try (PanopsCrypto c =
        builder(
                fake,
                ProbeSettings.every(Duration.ofMinutes(1)).withTimeout(Duration.ofMillis(100)))
            .ticker(ticker)
            .build()) {
      TenantCrypto t = c.tenant("t");
      byte[] ct = t.encrypt(new byte[10], KC, AAD);
      ticker.advance(Duration.ofMinutes(3));
      fake.latency(Duration.ofSeconds(1)); // KMS hangs; the fake ignores the SDK call timeout
      // A request joining a probe already in flight waits at most two timeouts.
      Thread prober = new Thread(() -> c.probe(arn));
      prober.start();
      while (fake.encryptCalls.get() + fake.decryptCalls.get() == 0) {
        Thread.onSpinWait();
      }
      long t0 = System.nanoTime();
      assertThrows(KmsUnavailableException.class, () -> t.decrypt(ct, KC, AAD));
      assertTrue(System.nanoTime() - t0 < 900_000_000L, "the wait was bounded");
      fake.latency(Duration.ZERO);
    }
  }

  @Test
  void aCanaryThatKmsRefuses_isRecreatedOnce_beforeTheKeyIsJudged() {
    AtomicInteger refusals = new AtomicInteger();
    AtomicInteger refuseCanaries = new AtomicInteger(0);
    KmsClient badCanary =
        new ForwardingKmsClient(fake) {
          @Override
          public DecryptResponse decrypt(DecryptRequest r) {
            boolean probe = ForwardingKmsClient.isProbe(r);
            if (probe && refuseCanaries.get() > 0) {
              refuseCanaries.decrementAndGet();
              refusals.incrementAndGet();
              throw InvalidCiphertextException.builder().message("bad canary").build();
            }
            return fake.decrypt(r);
          }
        };
    try (PanopsCrypto c = builder(badCanary, ProbeSettings.off()).build()) {
      c.tenant("t").encrypt(new byte[1], KC, AAD);
      assertTrue(c.probe(arn)); // creates the canary
      refuseCanaries.set(1);
      long encryptsBefore = fake.encryptCalls.get();
      assertTrue(c.probe(arn), "the old canary is refused; a new one decrypts: the key is fine");
      assertEquals(encryptsBefore + 1, fake.encryptCalls.get(), "a new canary was made");
      assertFalse(c.isRevoked(arn));
      refuseCanaries.set(2); // the old canary and the fresh one are both refused
      assertFalse(c.probe(arn));
      assertTrue(c.isRevoked(arn));
      assertEquals(List.of("REVOKED:INVALID_CIPHERTEXT"), events);
    }
  }

  @Test
  void aProbeThatThrowsSomethingUnexpected_isAFailedProbe_andLatches() {
    KmsClient broken =
        new ForwardingKmsClient(fake) {
          @Override
          public DecryptResponse decrypt(DecryptRequest r) {
            if (ForwardingKmsClient.isProbe(r)) {
              throw new NullPointerException("a bug in a wrapper");
            }
            return fake.decrypt(r);
          }
        };
    try (PanopsCrypto c = builder(broken, ProbeSettings.off()).build()) {
      c.tenant("t").encrypt(new byte[1], KC, AAD);
      assertFalse(c.probe(arn));
      assertTrue(c.isRevoked(arn));
    }
  }

  @Test
  void anEncryptingStreamWhoseWriteFailed_neverCompletesItsMessage() throws Exception {
    try (PanopsCrypto c =
        builder(fake, ProbeSettings.off().withSettle(1, Duration.ZERO)).frameSize(4096).build()) {
      TenantCrypto t = c.tenant("t");
      ByteArrayOutputStream sink = new ByteArrayOutputStream();
      OutputStream out = t.encryptingStream(sink, KC, AAD);
      out.write(new byte[5000]);
      fake.disable(arn);
      assertFalse(c.probe(arn));
      assertThrows(KeyRevokedException.class, () -> out.write(new byte[5000]));
      fake.enable(arn);
      assertTrue(c.probe(arn));
      assertFalse(c.isRevoked(arn));
      assertThrows(IOException.class, () -> out.write(new byte[10]), "the stream stays failed");
      assertThrows(IOException.class, out::close, "close says the message is incomplete");
      byte[] partial = sink.toByteArray();
      assertThrows(IntegrityException.class, () -> t.decrypt(partial, KC, AAD));
    }
  }

  @Test
  void malformedUtf16_isRefusedInContextsAadsAndTenantIds() {
    assertThrows(IllegalArgumentException.class, () -> MessageAad.of("row", "user-\uD800"));
    assertThrows(IllegalArgumentException.class, () -> KeyContext.of("class\uDC00", "mail"));
    assertThrows(IllegalArgumentException.class, () -> MessageAad.of("row", "\uDC00\uD800"));
    assertEquals(MessageAad.of("row", "\uD83D\uDE00"), MessageAad.of("row", "\uD83D\uDE00"));
    try (PanopsCrypto c = builder(fake, ProbeSettings.off()).build()) {
      assertThrows(IllegalArgumentException.class, () -> c.tenant("t\uD800"));
    }
  }
}
