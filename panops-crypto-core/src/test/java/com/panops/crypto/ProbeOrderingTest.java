package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.testkit.FakeKmsClient;
import com.panops.crypto.testkit.ForwardingKmsClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;

/**
 * Probe and latch ordering, made deterministic with a gated KMS: the fake decides an answer at once
 * (with the key's state at that moment), then the gate holds it back until the test releases it. So
 * the test can make KMS answer "alive" before the customer disables the key and deliver that answer
 * after the library latched the key.
 */
class ProbeOrderingTest {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  /** Holds back the answers of the Decrypts that {@code held} selects, once armed. */
  static final class GatedKms extends ForwardingKmsClient {
    final FakeKmsClient fake;
    volatile Predicate<DecryptRequest> held = r -> false;
    volatile CountDownLatch decided = new CountDownLatch(1);
    volatile CountDownLatch release = new CountDownLatch(1);

    GatedKms(FakeKmsClient fake) {
      super(fake);
      this.fake = fake;
    }

    void arm(Predicate<DecryptRequest> which) {
      decided = new CountDownLatch(1);
      release = new CountDownLatch(1);
      held = which;
    }

    @Override
    public DecryptResponse decrypt(DecryptRequest r) {
      if (!held.test(r)) {
        return fake.decrypt(r);
      }
      held = x -> false; // hold one answer only
      CountDownLatch rel = release;
      try {
        DecryptResponse answer = fake.decrypt(r); // decided now
        decided.countDown();
        return answer;
      } finally {
        try {
          assertTrue(rel.await(10, TimeUnit.SECONDS), "gate never released");
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  static boolean isProbe(DecryptRequest r) {
    return ForwardingKmsClient.isProbe(r);
  }

  FakeKmsClient fake;
  GatedKms kms;
  String arn;
  PanopsCrypto crypto;
  final List<RevocationEvent> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    fake = new FakeKmsClient();
    arn = fake.createKey("k");
    kms = new GatedKms(fake);
    crypto = build(kms);
  }

  PanopsCrypto build(KmsClient client) {
    return TestCrypto.builder(client, "t", arn)
        .probeSettings(
            ProbeSettings.off().withSettle(1, Duration.ZERO).withTimeout(Duration.ofSeconds(5)))
        .addRevocationListener(events::add)
        .build();
  }

  @AfterEach
  void tearDown() {
    kms.release.countDown();
    crypto.close();
  }

  /** A ciphertext under a data key this instance has not cached: reading it needs KMS. */
  byte[] foreignCiphertext() {
    try (PanopsCrypto other = build(fake)) {
      return other.tenant("t").encrypt("secret".getBytes(), KC, AAD);
    }
  }

  @Test
  void aProbeAnsweredBeforeTheDisable_doesNotLiftTheLatchSetAfterIt() throws Exception {
    byte[] foreign = foreignCiphertext();
    TenantCrypto t = crypto.tenant("t");
    t.encrypt(new byte[1], KC, AAD); // the key is in use
    kms.arm(ProbeOrderingTest::isProbe);
    CompletableFuture<Boolean> probe = CompletableFuture.supplyAsync(() -> crypto.probe(arn));
    assertTrue(kms.decided.await(5, TimeUnit.SECONDS));
    // KMS said "alive"; the answer is on its way. Now the customer disables the key, and a data
    // Decrypt sees it and latches.
    fake.disable(arn);
    KeyRevokedException e =
        assertThrows(KeyRevokedException.class, () -> t.decrypt(foreign, KC, AAD));
    assertEquals(RevocationReason.DISABLED, e.reason());
    kms.release.countDown();
    assertTrue(probe.get(5, TimeUnit.SECONDS), "the late answer itself was a success");
    assertTrue(crypto.isRevoked(arn), "but it predates the latch, so it lifts nothing");
    assertEquals(
        List.of(RevocationEvent.Kind.REVOKED), events.stream().map(RevocationEvent::kind).toList());
    assertThrows(KeyRevokedException.class, () -> t.decrypt(foreign, KC, AAD));
  }

  @Test
  void aCacheLoadInFlightDuringALatch_discardsItsKey_andNothingIsServedFromIt() throws Exception {
    byte[] foreign = foreignCiphertext();
    TenantCrypto t = crypto.tenant("t");
    t.encrypt(new byte[1], KC, AAD);
    kms.arm(r -> !isProbe(r));
    CompletableFuture<byte[]> read =
        CompletableFuture.supplyAsync(() -> t.decrypt(foreign, KC, AAD));
    assertTrue(kms.decided.await(5, TimeUnit.SECONDS));
    // KMS gave the data key; before the answer arrives the key is disabled and a probe latches.
    fake.disable(arn);
    assertFalse(crypto.probe(arn));
    long dataDecryptsBefore = fake.decryptCalls.get();
    kms.release.countDown();
    java.util.concurrent.ExecutionException failed =
        assertThrows(
            java.util.concurrent.ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
    assertInstanceOf(KeyRevokedException.class, failed.getCause());
    // Restore: the discarded key was not cached, so the next read goes to KMS again.
    fake.enable(arn);
    assertTrue(crypto.probe(arn));
    assertFalse(crypto.isRevoked(arn));
    assertArrayEquals("secret".getBytes(), t.decrypt(foreign, KC, AAD));
    assertTrue(fake.decryptCalls.get() >= dataDecryptsBefore + 2, "the data key was fetched again");
  }

  @Test
  void aFreshProbeAfterAPerCiphertextFailure_startsAfterTheFailure() throws Exception {
    // A probe in flight that started before a per-ciphertext failure must not decide it: the
    // library waits it out and runs one of its own.
    byte[] good = foreignCiphertext();
    byte[] bad = good.clone();
    com.panops.crypto.format.MessageHeader h =
        com.panops.crypto.format.MessageHeader.parse(bad, 0, bad.length);
    bad[h.edkOffset() + h.edkLength() - 20] ^= 1;
    TenantCrypto t = crypto.tenant("t");
    t.encrypt(new byte[1], KC, AAD);
    kms.arm(ProbeOrderingTest::isProbe);
    CompletableFuture<Boolean> early = CompletableFuture.supplyAsync(() -> crypto.probe(arn));
    assertTrue(kms.decided.await(5, TimeUnit.SECONDS)); // answered "alive" while enabled
    fake.disable(arn);
    CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> t.decrypt(bad, KC, AAD));
    Thread.sleep(100);
    kms.release.countDown();
    assertTrue(early.get(5, TimeUnit.SECONDS));
    java.util.concurrent.ExecutionException failed =
        assertThrows(
            java.util.concurrent.ExecutionException.class, () -> read.get(5, TimeUnit.SECONDS));
    KeyRevokedException e = assertInstanceOf(KeyRevokedException.class, failed.getCause());
    assertEquals(RevocationReason.DISABLED, e.reason(), "decided by a probe after the failure");
  }
}
