package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.LocalKmsSupport;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The kill switch through the real SDK KmsClient and LocalKms: every customer action and every
 * injected KMS failure latches within one probe interval even with a warm cache, nothing is
 * decrypted while latched, and restoring the key lifts the latch within one interval.
 */
class KillSwitchIT {
  static final Duration INTERVAL = Duration.ofMillis(250);

  /** A bound on how long to wait for an event that must come within one interval. */
  static final Duration WAIT = INTERVAL.multipliedBy(2).plusSeconds(3);

  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  LocalKms kms;
  KmsClient client;
  String arn;
  PanopsCrypto crypto;
  TenantCrypto tenant;
  final BlockingQueue<RevocationEvent> events = new LinkedBlockingQueue<>();
  final List<AuditEvent> audit = new java.util.concurrent.CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    kms = LocalKms.start();
    client = LocalKmsSupport.client(kms, kms.vendor());
    arn = kms.createKey("tenant acme");
    crypto = build(ProbeSettings.every(INTERVAL));
    tenant = crypto.tenant("acme");
  }

  PanopsCrypto build(ProbeSettings probe) {
    return PanopsCrypto.builder()
        .kmsClient(client)
        .allowInsecureLocalKmsEndpoint()
        .tenantDirectory(TenantDirectory.of(Map.of("acme", TenantKeys.of(arn))))
        .probeSettings(probe)
        .addRevocationListener(events::add)
        .auditSink(audit::add)
        .build();
  }

  @AfterEach
  void tearDown() {
    crypto.close();
    client.close();
    kms.close();
  }

  private RevocationEvent await(RevocationEvent.Kind kind) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      RevocationEvent e = events.poll(100, TimeUnit.MILLISECONDS);
      if (e != null && e.kind() == kind) {
        return e;
      }
    }
    fail("no " + kind + " event within " + WAIT);
    return null;
  }

  private long dataDecrypts() {
    return kms.trail().stream()
        .filter(e -> e.eventName().equals("Decrypt"))
        .filter(e -> !"liveness-probe".equals(e.encryptionContext().get("panops:purpose")))
        .count();
  }

  /** Warms both cache sides, applies {@code action}, and checks the latch and fail-fast. */
  private void assertLatches(Runnable action, RevocationReason expected) throws Exception {
    byte[] ct = tenant.encrypt("warm".getBytes(), KC, AAD);
    assertArrayEquals("warm".getBytes(), tenant.decrypt(ct, KC, AAD));
    Instant before = Instant.now();
    action.run();
    RevocationEvent revoked = await(RevocationEvent.Kind.REVOKED);
    assertEquals(expected, revoked.reason());
    assertEquals(arn, revoked.keyArn());
    assertFalse(revoked.time().isBefore(before));
    long decryptsAtLatch = dataDecrypts();
    int trailAtLatch = kms.trail().size();
    for (int i = 0; i < 50; i++) {
      KeyRevokedException e =
          assertThrows(KeyRevokedException.class, () -> tenant.decrypt(ct, KC, AAD));
      assertEquals(expected, e.reason());
      assertThrows(KeyRevokedException.class, () -> tenant.encrypt(new byte[1], KC, AAD));
    }
    assertEquals(decryptsAtLatch, dataDecrypts(), "fail fast: no data Decrypt while latched");
    assertTrue(
        kms.trail().subList(trailAtLatch, kms.trail().size()).stream()
            .allMatch(e -> "liveness-probe".equals(e.encryptionContext().get("panops:purpose"))),
        "while latched only probes reach KMS");
  }

  private void assertRestores(Runnable action, byte[] ct) throws Exception {
    action.run();
    await(RevocationEvent.Kind.RESTORED);
    assertArrayEquals("warm".getBytes(), tenant.decrypt(ct, KC, AAD));
  }

  @Test
  void disableKey_latchesWithinOneInterval_withAWarmCache_andEnableKeyLiftsIt() throws Exception {
    assertLatches(() -> kms.disableKey(arn), RevocationReason.DISABLED);
    byte[] ct = null;
    kms.enableKey(arn);
    await(RevocationEvent.Kind.RESTORED);
    ct = tenant.encrypt("warm".getBytes(), KC, AAD);
    assertArrayEquals("warm".getBytes(), tenant.decrypt(ct, KC, AAD));
  }

  @Test
  void scheduleKeyDeletion_latches_andCancelPlusEnableLiftsIt() throws Exception {
    assertLatches(() -> kms.scheduleKeyDeletion(arn, 7), RevocationReason.PENDING_DELETION);
    kms.cancelKeyDeletion(arn); // leaves the key Disabled, as KMS does
    kms.enableKey(arn);
    await(RevocationEvent.Kind.RESTORED);
    byte[] ct = tenant.encrypt("x".getBytes(), KC, AAD);
    assertArrayEquals("x".getBytes(), tenant.decrypt(ct, KC, AAD));
  }

  @Test
  void removingTheVendorFromTheKeyPolicy_latches_andRestoringThePolicyLiftsIt() throws Exception {
    String seed = kms.seedKeyPolicy();
    String adminOnly =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Admin\",\"Effect\":\"Allow\","
            + "\"Principal\":{\"AWS\":\""
            + kms.admin().arn()
            + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";
    assertLatches(() -> kms.putKeyPolicy(arn, adminOnly), RevocationReason.ACCESS_DENIED);
    kms.putKeyPolicy(arn, seed);
    await(RevocationEvent.Kind.RESTORED);
    assertNotNull(tenant.encrypt(new byte[1], KC, AAD));
  }

  @Test
  void injectedThrottling_latchesAsThrottled_andClearingItLiftsIt() throws Exception {
    assertLatches(() -> kms.faults().throttle("Decrypt", arn), RevocationReason.THROTTLED);
    kms.faults().clear();
    await(RevocationEvent.Kind.RESTORED);
  }

  @Test
  void injectedInternalErrors_latchAsUnavailable() throws Exception {
    assertLatches(() -> kms.faults().internalError("Decrypt", arn), RevocationReason.UNAVAILABLE);
    kms.faults().clear();
    await(RevocationEvent.Kind.RESTORED);
  }

  @Test
  void droppedConnections_latchAsUnavailable() throws Exception {
    assertLatches(() -> kms.faults().dropConnection("Decrypt", arn), RevocationReason.UNAVAILABLE);
    kms.faults().clear();
    await(RevocationEvent.Kind.RESTORED);
  }

  @Test
  void oneTamperedEncryptedDataKey_latches_andTheImmediateProbeLiftsIt_beforeTheInterval()
      throws Exception {
    crypto.close();
    crypto = build(ProbeSettings.every(Duration.ofMinutes(5))); // only the immediate probe can lift
    tenant = crypto.tenant("acme");
    byte[] ct = tenant.encrypt("data".getBytes(), KC, AAD);
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    byte[] bad = ct.clone();
    bad[h.edkOffset() + h.edkLength() / 2] ^= 1;
    try (PanopsCrypto reader = build(ProbeSettings.every(Duration.ofMinutes(5)))) {
      TenantCrypto r = reader.tenant("acme");
      KeyRevokedException e =
          assertThrows(KeyRevokedException.class, () -> r.decrypt(bad, KC, AAD));
      assertEquals(RevocationReason.INVALID_CIPHERTEXT, e.reason());
      await(RevocationEvent.Kind.REVOKED);
      await(RevocationEvent.Kind.RESTORED);
      assertFalse(reader.isRevoked(arn));
      assertArrayEquals("data".getBytes(), r.decrypt(ct, KC, AAD));
    }
  }

  @Test
  void generateDataKey_onADisabledKey_latches_butThrottlingOnlyFailsTheCall() throws Exception {
    crypto.close();
    crypto = build(ProbeSettings.off());
    tenant = crypto.tenant("acme");
    kms.faults().throttle("GenerateDataKey", arn);
    assertThrows(KmsUnavailableException.class, () -> tenant.encrypt(new byte[1], KC, AAD));
    assertFalse(crypto.isRevoked(arn));
    kms.faults().clear();
    kms.disableKey(arn);
    KeyRevokedException e =
        assertThrows(KeyRevokedException.class, () -> tenant.encrypt(new byte[1], KC, AAD));
    assertEquals(RevocationReason.DISABLED, e.reason());
    assertTrue(crypto.isRevoked(arn));
    kms.enableKey(arn);
    assertTrue(crypto.probe(arn), "with probes off, an explicit probe lifts the latch");
    assertNotNull(tenant.encrypt(new byte[1], KC, AAD));
  }

  @Test
  void auditEvents_matchTheCustomersTrail_oneToOne() throws Exception {
    byte[] ct = tenant.encrypt("a".getBytes(), KC, AAD);
    try (PanopsCrypto reader = build(ProbeSettings.every(INTERVAL))) {
      reader.tenant("acme").decrypt(ct, KC, AAD);
    }
    kms.disableKey(arn);
    await(RevocationEvent.Kind.REVOKED);
    kms.enableKey(arn);
    await(RevocationEvent.Kind.RESTORED);
    crypto.close(); // stop probes so both sides are quiet
    List<TrailEvent> vendorTrail =
        kms.trail().stream()
            .filter(e -> e.userArn() != null && e.userArn().equals(kms.vendor().arn()))
            .toList();
    List<AuditEvent> ours = List.copyOf(audit);
    assertEquals(vendorTrail.size(), ours.size());
    java.util.Set<String> trailIds = new java.util.HashSet<>();
    vendorTrail.forEach(
        e -> trailIds.add(e.eventName() + "/" + e.requestId() + "/" + (e.errorCode() == null)));
    for (AuditEvent a : ours) {
      assertTrue(
          trailIds.contains(a.operation() + "/" + a.requestId() + "/" + a.success()),
          "audit event without a matching trail record: " + a);
      assertEquals(arn, a.keyArn());
    }
    assertTrue(
        ours.stream().anyMatch(a -> !a.success() && "DisabledException".equals(a.errorCode())));
  }

  @Test
  void probeLoad_isOneDecryptPerKeyPerInterval() throws Exception {
    tenant.encrypt(new byte[1], KC, AAD);
    Consumer<Duration> sleep =
        d -> {
          try {
            Thread.sleep(d.toMillis());
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        };
    sleep.accept(INTERVAL.multipliedBy(8));
    long probes =
        kms.trail().stream()
            .filter(e -> e.eventName().equals("Decrypt"))
            .filter(e -> "liveness-probe".equals(e.encryptionContext().get("panops:purpose")))
            .count();
    assertTrue(probes >= 2 && probes <= 10, "probes in 8 intervals: " + probes);
  }
}
