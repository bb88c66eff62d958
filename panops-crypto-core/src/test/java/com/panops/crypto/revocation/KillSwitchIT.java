package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.IntegrityException;
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
import com.panops.crypto.TestCrypto;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The kill switch through the real SDK KmsClient and LocalKms: every customer action and every
 * injected KMS failure latches within one probe interval (plus 500 ms for scheduling and round
 * trips) even with a warm cache; nothing is decrypted while latched; a customer-action latch is
 * lifted no sooner than the settle time and at most the settle time plus one interval (plus 500 ms)
 * after the key is usable again; a transport-failure latch at most one interval (plus 500 ms) after
 * KMS answers again; and a failure about one ciphertext latches nothing.
 */
class KillSwitchIT {
  static final Duration INTERVAL = Duration.ofMillis(250);
  static final Duration SETTLE = Duration.ofSeconds(1);
  static final Duration SLACK = Duration.ofMillis(500);
  static final Duration DETECT = INTERVAL.plus(SLACK);
  static final Duration RESTORE_SETTLED = SETTLE.plus(INTERVAL).plus(SLACK);
  static final Duration RESTORE_TRANSPORT = INTERVAL.plus(SLACK);

  /** How long to wait for an event at all (its timing is asserted separately). */
  static final Duration WAIT = Duration.ofSeconds(6);

  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  LocalKms kms;
  KmsClient client;
  String arn;
  PanopsCrypto crypto;
  TenantCrypto tenant;
  final BlockingQueue<Seen> events = new LinkedBlockingQueue<>();
  final List<AuditEvent> audit = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** An event and when the listener saw it ({@code System.nanoTime()}). */
  record Seen(RevocationEvent event, long nanos) {}

  static ProbeSettings probes() {
    return ProbeSettings.every(INTERVAL).withSettle(3, SETTLE).withTimeout(Duration.ofSeconds(2));
  }

  @BeforeEach
  void setUp() {
    kms = LocalKms.start();
    client = LocalKmsSupport.client(kms, kms.vendor());
    arn = kms.createKey("tenant acme");
    crypto = build(probes());
    tenant = crypto.tenant("acme");
  }

  PanopsCrypto build(ProbeSettings probe) {
    return build(probe, Map.of("acme", TenantKeys.of(arn)));
  }

  PanopsCrypto build(ProbeSettings probe, Map<String, TenantKeys> tenants) {
    return TestCrypto.builder(client, TenantDirectory.of(tenants))
        .probeSettings(probe)
        .addRevocationListener(e -> events.add(new Seen(e, System.nanoTime())))
        .auditSink(audit::add)
        .build();
  }

  @AfterEach
  void tearDown() {
    crypto.close();
    client.close();
    kms.close();
  }

  /**
   * Transport failures latch after the SDK's retries, whose backoff (with jitter, up to seconds)
   * adds to detection and restore times. The tests that time transport failures use a client that
   * does not retry, so that the times measured are the probe schedule's alone.
   */
  private void useClientWithoutRetries() {
    crypto.close();
    client.close();
    client =
        KmsClient.builder()
            .endpointOverride(kms.endpoint())
            .region(software.amazon.awssdk.regions.Region.of(kms.region()))
            .credentialsProvider(kms.vendor().credentialsProvider())
            .overrideConfiguration(
                o ->
                    o.retryStrategy(
                        software.amazon.awssdk.awscore.retry.AwsRetryStrategy.doNotRetry()))
            .build();
    crypto = build(probes());
    tenant = crypto.tenant("acme");
  }

  private Seen await(RevocationEvent.Kind kind) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      Seen e = events.poll(50, TimeUnit.MILLISECONDS);
      if (e != null && e.event().kind() == kind) {
        return e;
      }
    }
    fail("no " + kind + " event within " + WAIT);
    return null;
  }

  /** Runs {@code action}, waits for the next {@code kind} event and asserts it came in time. */
  private Seen timed(Runnable action, RevocationEvent.Kind kind, Duration limit)
      throws InterruptedException {
    long t0 = System.nanoTime();
    action.run();
    Seen e = await(kind);
    Duration took = Duration.ofNanos(e.nanos() - t0);
    assertTrue(
        took.compareTo(limit) <= 0, kind + " took " + took.toMillis() + " ms; limit " + limit);
    return new Seen(e.event(), took.toNanos());
  }

  /** A customer-action latch lifts no sooner than the settle time, and within settle + interval. */
  private void assertRestoresAfterSettling(Runnable action) throws InterruptedException {
    Seen restored = timed(action, RevocationEvent.Kind.RESTORED, RESTORE_SETTLED);
    assertTrue(
        restored.nanos() >= SETTLE.toNanos(),
        "restored after " + restored.nanos() / 1_000_000 + " ms: sooner than the settle time");
  }

  private long dataDecrypts() {
    return kms.trail().stream()
        .filter(e -> e.eventName().equals("Decrypt"))
        .filter(e -> !"liveness-probe".equals(e.encryptionContext().get("panops:purpose")))
        .count();
  }

  /** Warms both cache sides, applies {@code action}, and checks the latch and fail-fast. */
  private byte[] assertLatches(Runnable action, RevocationReason expected) throws Exception {
    byte[] ct = tenant.encrypt("warm".getBytes(), KC, AAD);
    assertArrayEquals("warm".getBytes(), tenant.decrypt(ct, KC, AAD));
    Instant before = Instant.now();
    RevocationEvent revoked = timed(action, RevocationEvent.Kind.REVOKED, DETECT).event();
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
    return ct;
  }

  @Test
  void eachKmsRequest_carriesItsPurposeInTheUserAgent_soTheCustomersTrailTellsProbesFromDataKeys()
      throws Exception {
    assertNotNull(tenant.encrypt("purpose".getBytes(), KC, AAD));
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (audit.stream()
            .noneMatch(a -> a.operation().equals("Decrypt") && a.purpose().equals("probe"))
        && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    List<TrailEvent> vendor =
        kms.trail().stream().filter(t -> LocalKms.VENDOR_ROLE_ARN.equals(t.roleArn())).toList();
    assertTrue(
        vendor.stream()
            .anyMatch(
                t ->
                    t.eventName().equals("GenerateDataKey")
                        && t.userAgent().contains("panops-purpose/data-key")),
        "a GenerateDataKey for a data key says so: " + vendor);
    assertTrue(
        vendor.stream()
            .anyMatch(
                t ->
                    t.eventName().equals("Decrypt")
                        && t.userAgent().contains("panops-purpose/probe")),
        "a probe's Decrypt says so: " + vendor);
    // every record names the purpose of the audited call it belongs to, and no other
    for (AuditEvent a : audit) {
      for (TrailEvent t : vendor) {
        if (t.userAgent().contains("panops-call/" + a.callId())) {
          assertTrue(t.userAgent().contains("panops-purpose/" + a.purpose()), t.userAgent());
          assertEquals(1, t.userAgent().split("panops-purpose/", -1).length - 1, t.userAgent());
        }
      }
    }
  }

  @Test
  void disableKey_latchesWithinOneInterval_andEnableKeyLiftsItAfterTheKeySettled()
      throws Exception {
    byte[] ct = assertLatches(() -> kms.disableKey(arn), RevocationReason.DISABLED);
    assertRestoresAfterSettling(() -> kms.enableKey(arn));
    assertArrayEquals("warm".getBytes(), tenant.decrypt(ct, KC, AAD));
    assertNotNull(tenant.encrypt("more".getBytes(), KC, AAD));
  }

  @Test
  void scheduleKeyDeletion_latches_andCancelPlusEnableLiftsIt() throws Exception {
    assertLatches(() -> kms.scheduleKeyDeletion(arn, 7), RevocationReason.PENDING_DELETION);
    kms.cancelKeyDeletion(arn); // leaves the key Disabled, as KMS does
    assertRestoresAfterSettling(() -> kms.enableKey(arn));
    byte[] ct = tenant.encrypt("x".getBytes(), KC, AAD);
    assertArrayEquals("x".getBytes(), tenant.decrypt(ct, KC, AAD));
  }

  @Test
  void pendingImport_latchesAsPendingImport_andReEnablingLiftsItAfterSettling() throws Exception {
    assertLatches(() -> kms.forceKeyState(arn, "PendingImport"), RevocationReason.PENDING_IMPORT);
    assertRestoresAfterSettling(() -> kms.forceKeyState(arn, "Enabled"));
  }

  @Test
  void aDisconnectedKeyStore_latchesAsKeyStoreUnavailable_andReconnectingLiftsIt()
      throws Exception {
    assertLatches(
        () -> kms.forceKeyState(arn, "Unavailable"), RevocationReason.KEY_STORE_UNAVAILABLE);
    assertRestoresAfterSettling(() -> kms.forceKeyState(arn, "Enabled"));
  }

  @Test
  void keyUnavailableAnswers_latchAsKeyUnavailable_andTheNextSuccessfulProbeLiftsIt()
      throws Exception {
    useClientWithoutRetries();
    assertLatches(
        () -> kms.faults().keyUnavailable("Decrypt", arn), RevocationReason.KEY_UNAVAILABLE);
    timed(() -> kms.faults().clear(), RevocationEvent.Kind.RESTORED, RESTORE_TRANSPORT);
  }

  @Test
  void dependencyTimeouts_latchAsDependencyTimeout_andTheNextSuccessfulProbeLiftsIt()
      throws Exception {
    useClientWithoutRetries();
    assertLatches(
        () -> kms.faults().dependencyTimeout("Decrypt", arn), RevocationReason.DEPENDENCY_TIMEOUT);
    timed(() -> kms.faults().clear(), RevocationEvent.Kind.RESTORED, RESTORE_TRANSPORT);
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
    assertRestoresAfterSettling(() -> kms.putKeyPolicy(arn, seed));
    assertNotNull(tenant.encrypt(new byte[1], KC, AAD));
  }

  @Test
  void aGrantKeepsTheVendorWorkingAfterThePolicyDropsIt_andRevokingTheGrantLatches()
      throws Exception {
    byte[] ct = tenant.encrypt("granted".getBytes(), KC, AAD);
    String grant =
        kms.createGrant(
            arn,
            com.panops.crypto.testkit.LocalKms.VENDOR_ROLE_ARN,
            "Decrypt",
            "Encrypt",
            "GenerateDataKey",
            "DescribeKey");
    String adminOnly =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Admin\",\"Effect\":\"Allow\","
            + "\"Principal\":{\"AWS\":\""
            + kms.admin().roleArn()
            + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";
    kms.putKeyPolicy(arn, adminOnly);
    // a fresh reader must go to KMS: the grant still lets it decrypt
    try (PanopsCrypto reader = build(probes())) {
      assertArrayEquals("granted".getBytes(), reader.tenant("acme").decrypt(ct, KC, AAD));
    }
    assertLatches(() -> kms.revokeGrant(arn, grant), RevocationReason.ACCESS_DENIED);
  }

  @Test
  void injectedThrottling_latchesAsThrottled_andTheNextSuccessfulProbeLiftsIt() throws Exception {
    useClientWithoutRetries();
    assertLatches(() -> kms.faults().throttle("Decrypt", arn), RevocationReason.THROTTLED);
    timed(() -> kms.faults().clear(), RevocationEvent.Kind.RESTORED, RESTORE_TRANSPORT);
  }

  @Test
  void injectedInternalErrors_latchAsUnavailable_andTheNextSuccessfulProbeLiftsIt()
      throws Exception {
    useClientWithoutRetries();
    assertLatches(() -> kms.faults().internalError("Decrypt", arn), RevocationReason.UNAVAILABLE);
    timed(() -> kms.faults().clear(), RevocationEvent.Kind.RESTORED, RESTORE_TRANSPORT);
  }

  @Test
  void droppedConnections_latchAsUnavailable() throws Exception {
    useClientWithoutRetries();
    assertLatches(() -> kms.faults().dropConnection("Decrypt", arn), RevocationReason.UNAVAILABLE);
    timed(() -> kms.faults().clear(), RevocationEvent.Kind.RESTORED, RESTORE_TRANSPORT);
  }

  @Test
  void aTransportFailureWhileACustomerActionLatchSettles_doesNotShortenTheSettling()
      throws Exception {
    useClientWithoutRetries();
    assertLatches(() -> kms.disableKey(arn), RevocationReason.DISABLED);
    // The key comes back while KMS throttles: the probes now fail for a transport reason, which
    // on its own would lift at the next success. The latch saw a customer action, so it must
    // still settle.
    kms.faults().throttle("Decrypt", arn);
    kms.enableKey(arn);
    Thread.sleep(INTERVAL.multipliedBy(3).toMillis());
    assertTrue(crypto.isRevoked(arn));
    assertRestoresAfterSettling(() -> kms.faults().clear());
  }

  @Test
  void oneTamperedEncryptedDataKey_isAnIntegrityFailure_andTakesNoTenantOfTheCmkDown()
      throws Exception {
    crypto.close();
    // Two tenants share the CMK; probes only every 5 minutes, so only the immediate probe runs.
    Map<String, TenantKeys> both = Map.of("acme", TenantKeys.of(arn), "globex", TenantKeys.of(arn));
    crypto = build(ProbeSettings.every(Duration.ofMinutes(5)), both);
    tenant = crypto.tenant("acme");
    TenantCrypto other = crypto.tenant("globex");
    byte[] ct = tenant.encrypt("data".getBytes(), KC, AAD);
    byte[] otherCt = other.encrypt("theirs".getBytes(), KC, AAD);
    java.io.ByteArrayOutputStream sink = new java.io.ByteArrayOutputStream();
    java.io.OutputStream openUpload = other.encryptingStream(sink, KC, AAD);
    openUpload.write(new byte[100_000]);
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    byte[] bad = ct.clone();
    bad[h.edkOffset() + h.edkLength() / 2] ^= 1;
    long probesBefore = probeDecrypts();
    IntegrityException e =
        assertThrows(IntegrityException.class, () -> tenant.decrypt(bad, KC, AAD));
    assertNotNull(e.getCause(), "KMS's error is the cause");
    assertTrue(probeDecrypts() > probesBefore, "an immediate probe decided");
    assertFalse(crypto.isRevoked(arn));
    assertTrue(events.isEmpty(), "no revocation event: " + events);
    // Nothing else changed: both tenants keep working from cache, and the open stream finishes.
    assertArrayEquals("data".getBytes(), tenant.decrypt(ct, KC, AAD));
    assertArrayEquals("theirs".getBytes(), other.decrypt(otherCt, KC, AAD));
    openUpload.write(new byte[100_000]);
    openUpload.close();
    assertEquals(200_000, other.decrypt(sink.toByteArray(), KC, AAD).length);
  }

  @Test
  void aTamperedEncryptedDataKey_whileTheKeyIsDisabled_latchesAsDisabled() throws Exception {
    crypto.close();
    crypto = build(ProbeSettings.every(Duration.ofMinutes(5)));
    tenant = crypto.tenant("acme");
    byte[] ct = tenant.encrypt("data".getBytes(), KC, AAD);
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    byte[] bad = ct.clone();
    bad[h.edkOffset() + h.edkLength() / 2] ^= 1;
    kms.disableKey(arn);
    KeyRevokedException e =
        assertThrows(KeyRevokedException.class, () -> tenant.decrypt(bad, KC, AAD));
    assertEquals(RevocationReason.DISABLED, e.reason(), "the probe's verdict, not the row's");
    assertTrue(crypto.isRevoked(arn));
    assertThrows(KeyRevokedException.class, () -> tenant.decrypt(ct, KC, AAD));
  }

  private long probeDecrypts() {
    return kms.trail().stream()
        .filter(e -> e.eventName().equals("Decrypt"))
        .filter(e -> "liveness-probe".equals(e.encryptionContext().get("panops:purpose")))
        .count();
  }

  @Test
  void generateDataKey_onADisabledKey_latches_butThrottlingOnlyFailsTheCall() throws Exception {
    crypto.close();
    crypto = build(ProbeSettings.off().withSettle(2, Duration.ofMillis(200)));
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
    assertTrue(crypto.probe(arn), "KMS decrypts the canary again");
    assertTrue(crypto.isRevoked(arn), "but one success does not lift a customer-action latch");
    Thread.sleep(250);
    assertTrue(crypto.probe(arn));
    assertFalse(crypto.isRevoked(arn), "two successes 200 ms apart settle it");
    assertNotNull(tenant.encrypt(new byte[1], KC, AAD));
  }

  @Test
  void auditEvents_matchTheCustomersTrail_oneToOne() throws Exception {
    byte[] ct = tenant.encrypt("a".getBytes(), KC, AAD);
    try (PanopsCrypto reader = build(probes())) {
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
    Thread.sleep(INTERVAL.multipliedBy(8).toMillis());
    long probes = probeDecrypts();
    assertTrue(probes >= 6 && probes <= 10, "probes in 8 intervals: " + probes);
  }

  @Test
  void aClosedInstance_refusesAllWork_includingStreamsAlreadyOpen() throws Exception {
    byte[] ct = tenant.encrypt("x".getBytes(), KC, AAD);
    java.io.OutputStream out =
        tenant.encryptingStream(new java.io.ByteArrayOutputStream(), KC, AAD);
    out.write(new byte[70_000]);
    crypto.close();
    assertThrows(IllegalStateException.class, () -> tenant.decrypt(ct, KC, AAD));
    assertThrows(IllegalStateException.class, () -> tenant.encrypt(new byte[1], KC, AAD));
    assertThrows(IllegalStateException.class, () -> crypto.tenant("acme"));
    assertThrows(IllegalStateException.class, () -> crypto.probe(arn));
    assertThrows(IllegalStateException.class, () -> out.write(new byte[70_000]));
  }
}
