package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.FakeTicker;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeCoordinator;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.testkit.FakeKmsClient;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rules of {@link ProbeCoordinator}, deterministic: a fake ticker, the background scheduler
 * stopped, a fake coordinator driven by the test, and the scheduler's decision ({@code probesHere})
 * and the fleet's callbacks called directly.
 */
class ProbeCoordinatorRulesTest {
  static final Duration I = Duration.ofSeconds(10);
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  /** A coordinator the test drives: it records what the engine tells it. */
  static final class FakeCoordinator implements ProbeCoordinator {
    volatile Fleet fleet;
    volatile boolean assigned;
    volatile RuntimeException assignedThrows;
    final Set<String> interested = ConcurrentHashMap.newKeySet();
    final List<String> published = new CopyOnWriteArrayList<>();
    final AtomicInteger alive = new AtomicInteger();
    volatile boolean closed;

    @Override
    public void start(Fleet f) {
      this.fleet = f;
    }

    @Override
    public void interested(String keyArn) {
      interested.add(keyArn);
    }

    @Override
    public boolean assigned(String keyArn) {
      if (assignedThrows != null) {
        throw assignedThrows;
      }
      return assigned;
    }

    @Override
    public void probeSucceeded(String keyArn, Duration sinceStart) {
      alive.incrementAndGet();
    }

    @Override
    public void latched(String keyArn, RevocationReason reason, String errorCode) {
      published.add("latched:" + reason);
    }

    @Override
    public void restored(String keyArn) {
      published.add("restored");
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  /** Holds one probe's Decrypt answer back until released, once armed. */
  static final class Gate implements software.amazon.awssdk.services.kms.KmsClient {
    final FakeKmsClient fake;
    volatile boolean armed;
    volatile java.util.concurrent.CountDownLatch entered =
        new java.util.concurrent.CountDownLatch(1);
    volatile java.util.concurrent.CountDownLatch release =
        new java.util.concurrent.CountDownLatch(1);

    Gate(FakeKmsClient fake) {
      this.fake = fake;
    }

    void arm() {
      entered = new java.util.concurrent.CountDownLatch(1);
      release = new java.util.concurrent.CountDownLatch(1);
      armed = true;
    }

    @Override
    public software.amazon.awssdk.services.kms.model.DecryptResponse decrypt(
        software.amazon.awssdk.services.kms.model.DecryptRequest r) {
      software.amazon.awssdk.services.kms.model.DecryptResponse answer = fake.decrypt(r);
      if (armed && "liveness-probe".equals(r.encryptionContext().get("panops:purpose"))) {
        armed = false;
        entered.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return answer;
    }

    @Override
    public software.amazon.awssdk.services.kms.model.EncryptResponse encrypt(
        software.amazon.awssdk.services.kms.model.EncryptRequest r) {
      return fake.encrypt(r);
    }

    @Override
    public software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse generateDataKey(
        software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest r) {
      return fake.generateDataKey(r);
    }

    @Override
    public String serviceName() {
      return "kms";
    }

    @Override
    public void close() {}
  }

  FakeKmsClient kms;
  Gate gate;
  String arn;
  FakeTicker ticker;
  FakeCoordinator coordinator;
  PanopsCrypto crypto;
  Revocations revocations;
  TenantCrypto tenant;
  KeyState state;
  final List<RevocationEvent> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    kms = new FakeKmsClient();
    arn = kms.createKey("k");
    ticker = new FakeTicker();
    coordinator = new FakeCoordinator();
    gate = new Gate(kms);
    crypto =
        TestCrypto.builder(gate, "t", arn)
            .probeSettings(
                ProbeSettings.every(I)
                    .withSettle(1, Duration.ZERO)
                    .withTimeout(Duration.ofSeconds(5)))
            .ticker(ticker)
            .addRevocationListener(events::add)
            .probeCoordinator(coordinator)
            .build();
    Field f = PanopsCrypto.class.getDeclaredField("revocations");
    f.setAccessible(true);
    revocations = (Revocations) f.get(crypto);
    revocations.stopSchedulerForTests();
    tenant = crypto.tenant("t");
    tenant.encrypt(new byte[1], KC, AAD); // the key is in use and proven alive now
    state = revocations.existingState(arn);
    assertNotNull(coordinator.fleet, "build() starts the coordinator");
  }

  @AfterEach
  void tearDown() {
    gate.release.countDown();
    crypto.close();
    assertTrue(coordinator.closed, "close() closes the coordinator");
  }

  long now() {
    return ticker.read();
  }

  @Test
  void interestIsRecordedWhenTheKeyBecomesActive_andOnEveryScan() {
    assertEquals(Set.of(arn), coordinator.interested);
    coordinator.interested.clear();
    revocations.scan();
    assertEquals(Set.of(arn), coordinator.interested);
  }

  @Test
  void anUnassignedKeyWithFreshFleetProof_isNotProbed_andIsServedFromCache() {
    byte[] ct = tenant.encrypt("x".getBytes(), KC, AAD);
    tenant.decrypt(ct, KC, AAD);
    long kmsDecrypts = kms.decryptCalls.get();
    for (int i = 0; i < 5; i++) {
      ticker.advance(I);
      coordinator.fleet.provenAlive(arn, Duration.ofSeconds(2));
      assertFalse(revocations.probesHere(state, now()), "spared by the fleet's proof");
      assertArrayEquals("x".getBytes(), tenant.decrypt(ct, KC, AAD));
    }
    assertEquals(kmsDecrypts, kms.decryptCalls.get(), "no KMS call: served from cache");
  }

  @Test
  void anAssignedKey_isProbedHere() {
    coordinator.assigned = true;
    assertTrue(revocations.probesHere(state, now()));
  }

  @Test
  void whenFleetProofStops_theWorkerProbesItself_inTheBackgroundAndOnTheRequestThread() {
    byte[] ct = tenant.encrypt("x".getBytes(), KC, AAD);
    tenant.decrypt(ct, KC, AAD); // both cache sides warm
    ticker.advance(I.multipliedBy(7).dividedBy(4));
    assertFalse(revocations.probesHere(state, now()), "1.75 intervals: still fresh");
    ticker.advance(Duration.ofMillis(1));
    assertTrue(revocations.probesHere(state, now()), "older than 1.75 intervals: probe here");
    ticker.advance(I.dividedBy(4));
    long kmsDecrypts = kms.decryptCalls.get();
    assertArrayEquals("x".getBytes(), tenant.decrypt(ct, KC, AAD));
    assertEquals(kmsDecrypts + 1, kms.decryptCalls.get(), "a probe on the request thread");
    assertEquals(1, coordinator.alive.get(), "the probe's proof is offered to the fleet");
  }

  @Test
  void anOldAttestation_neverMovesTheProofBackwards() {
    long before = state.lastAliveNanos;
    coordinator.fleet.provenAlive(arn, I.multipliedBy(5));
    assertEquals(before, state.lastAliveNanos);
    coordinator.fleet.provenAlive(arn, Duration.ofSeconds(-1));
    assertEquals(before, state.lastAliveNanos, "a negative age is ignored");
  }

  @Test
  void assignedThrowing_failsSafeToALocalProbe() {
    coordinator.assignedThrows = new IllegalStateException("db gone");
    assertTrue(revocations.probesHere(state, now()));
  }

  @Test
  void aFleetRevocationLatchesAtOnce_purges_andAFleetRestoreLiftsIt() {
    byte[] ct = tenant.encrypt("x".getBytes(), KC, AAD);
    long epoch = state.epoch();
    coordinator.fleet.revoked(arn, RevocationReason.DISABLED, "DisabledException");
    assertEquals(epoch + 1, state.epoch());
    KeyRevokedException e =
        assertThrows(KeyRevokedException.class, () -> tenant.decrypt(ct, KC, AAD));
    assertEquals(RevocationReason.DISABLED, e.reason());
    assertEquals(List.of(), coordinator.published, "a fleet latch is not published again");
    assertFalse(revocations.probesHere(state, now()), "a fleet latch is probed by its assignee");
    coordinator.fleet.provenAlive(arn, Duration.ZERO);
    assertTrue(state.isRevoked(), "attestations do not lift a latch");
    long kmsDecrypts = kms.decryptCalls.get();
    coordinator.fleet.restored(arn);
    assertFalse(state.isRevoked());
    assertArrayEquals("x".getBytes(), tenant.decrypt(ct, KC, AAD));
    assertEquals(kmsDecrypts + 1, kms.decryptCalls.get(), "the purged data key came from KMS");
    assertEquals(
        List.of(RevocationEvent.Kind.REVOKED, RevocationEvent.Kind.RESTORED),
        events.stream().map(RevocationEvent::kind).toList());
  }

  @Test
  void aLatchSetByThisWorkersProbe_isPublished_andNotLiftedByTheFleet_onlyByItsOwnProbe() {
    kms.disable(arn);
    assertFalse(crypto.probe(arn));
    assertEquals(List.of("latched:DISABLED"), coordinator.published);
    assertTrue(revocations.probesHere(state, now()), "a local latch is always probed here");
    kms.enable(arn);
    coordinator.fleet.restored(arn);
    assertTrue(state.isRevoked(), "the fleet cannot lift a latch this worker's KMS call set");
    assertTrue(crypto.probe(arn), "a probe started after the latch");
    assertFalse(state.isRevoked());
    assertEquals(List.of("latched:DISABLED", "restored"), coordinator.published);
  }

  @Test
  void aDataDecryptFailure_isPublished_andStaysLocalThroughALaterFleetLatch() {
    byte[] foreign;
    try (PanopsCrypto other = TestCrypto.unprobed(kms, "t", arn).build()) {
      foreign = other.tenant("t").encrypt("y".getBytes(), KC, AAD);
    }
    kms.disable(arn);
    assertThrows(KeyRevokedException.class, () -> tenant.decrypt(foreign, KC, AAD));
    assertEquals(List.of("latched:DISABLED"), coordinator.published);
    // The fleet reports the same outage, then a restore: neither may lift the local latch.
    coordinator.fleet.revoked(arn, RevocationReason.DISABLED, "DisabledException");
    coordinator.fleet.restored(arn);
    assertTrue(state.isRevoked());
    kms.enable(arn);
    assertTrue(crypto.probe(arn));
    assertArrayEquals("y".getBytes(), tenant.decrypt(foreign, KC, AAD));
  }

  @Test
  void aProbeThatStartedAfterAFleetRevocation_liftsIt() {
    long epoch = state.epoch();
    coordinator.fleet.revoked(arn, RevocationReason.DISABLED, "DisabledException");
    assertTrue(state.isRevoked());
    assertNotEquals(epoch, state.epoch());
    assertTrue(crypto.probe(arn), "a probe that started after the fleet latch");
    assertFalse(state.isRevoked(), "...lifts it (settle: 1 probe, 0 s in this test)");
    assertEquals(List.of("restored"), coordinator.published, "and the restore is published");
  }

  @Test
  void aProbeInFlightDuringAFleetRevocation_liftsNothing() throws Exception {
    // The probe reads the epoch before KMS; the fleet's revocation, while KMS answers, bumps it:
    // the probe's success predates the revocation and lifts nothing (the epoch rule).
    gate.arm();
    java.util.concurrent.CompletableFuture<Boolean> probe =
        java.util.concurrent.CompletableFuture.supplyAsync(() -> crypto.probe(arn));
    assertTrue(gate.entered.await(5, TimeUnit.SECONDS), "the probe is in KMS");
    coordinator.fleet.revoked(arn, RevocationReason.DISABLED, "DisabledException");
    gate.release.countDown();
    assertTrue(probe.get(5, TimeUnit.SECONDS), "KMS answered alive");
    assertTrue(state.isRevoked(), "but the answer predates the fleet's revocation");
    assertEquals(List.of(), coordinator.published, "and no restore was published");
  }

  /**
   * Races a fleet revocation against a probe of this worker that lifts a latch, many times.
   * Interleavings: (1) the revocation comes before the probe reads the epoch: the probe started
   * after it and may lift it; (2) it comes while the probe is in KMS: the epoch moved, the success
   * lifts nothing; (3) it comes after the probe lifted: the key is latched again. In every case the
   * events alternate REVOKED/RESTORED (a RESTORED is never delivered after a newer REVOKED), and
   * the final state matches the last event.
   */
  @Test
  void stress_fleetRevocationRacingALiftingProbe_keepsEventsAndStateConsistent() throws Exception {
    for (int i = 0; i < 300; i++) {
      kms.disable(arn);
      assertFalse(crypto.probe(arn)); // a local latch
      kms.enable(arn);
      events.clear();
      CyclicBarrier go = new CyclicBarrier(2);
      Thread revoke =
          new Thread(
              () -> {
                await(go);
                coordinator.fleet.revoked(arn, RevocationReason.DISABLED, "DisabledException");
              });
      revoke.start();
      await(go);
      crypto.probe(arn);
      revoke.join(TimeUnit.SECONDS.toMillis(5));
      List<RevocationEvent.Kind> kinds = events.stream().map(RevocationEvent::kind).toList();
      for (int j = 1; j < kinds.size(); j++) {
        assertNotEquals(kinds.get(j - 1), kinds.get(j), "round " + i + ": " + kinds);
      }
      boolean lastRevoked =
          kinds.isEmpty() || kinds.get(kinds.size() - 1) == RevocationEvent.Kind.REVOKED;
      assertEquals(lastRevoked, state.isRevoked(), "round " + i + ": " + kinds);
      if (state.isRevoked()) {
        assertTrue(crypto.probe(arn), "round " + i); // started after everything: lifts
      }
      assertFalse(state.isRevoked());
    }
  }

  @Test
  void coordinatorCallbacksThatThrow_changeNothing() {
    FakeCoordinator c = coordinator;
    c.assignedThrows = new RuntimeException("boom");
    kms.disable(arn);
    assertFalse(crypto.probe(arn));
    assertTrue(state.isRevoked());
  }

  /**
   * Races a fleet restore against this worker's own latch, many times. Interleavings covered: (1)
   * the local latch is set first, then the fleet restore runs and must see {@code local} and lift
   * nothing; (2) the fleet restore runs first and lifts the fleet latch, then the local latch is
   * set; (3) the restore reads the latch while the local latch is being installed: both take the
   * KeyState monitor, so the restore sees either the old fleet latch (case 2) or the new local one
   * (case 1). Attestations race too and must never lift anything. In every case the key ends
   * latched: only this worker's own later probe may lift a latch its own KMS call set.
   */
  @Test
  void stress_fleetRestoreRacingALocalLatch_neverLiftsTheLocalLatch() throws Exception {
    kms.disable(arn);
    for (int i = 0; i < 300; i++) {
      coordinator.fleet.revoked(arn, RevocationReason.DISABLED, "DisabledException");
      CyclicBarrier go = new CyclicBarrier(3);
      Thread restore =
          new Thread(
              () -> {
                await(go);
                coordinator.fleet.restored(arn);
              });
      Thread alive =
          new Thread(
              () -> {
                await(go);
                coordinator.fleet.provenAlive(arn, Duration.ZERO);
              });
      restore.start();
      alive.start();
      await(go);
      assertFalse(crypto.probe(arn)); // KMS says disabled: a local latch
      restore.join(TimeUnit.SECONDS.toMillis(5));
      alive.join(TimeUnit.SECONDS.toMillis(5));
      assertTrue(state.isRevoked(), "round " + i + ": the local latch survived the fleet");
      kms.enable(arn);
      assertTrue(crypto.probe(arn), "round " + i);
      assertFalse(state.isRevoked());
      kms.disable(arn);
    }
  }

  private static void await(CyclicBarrier b) {
    try {
      b.await(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
