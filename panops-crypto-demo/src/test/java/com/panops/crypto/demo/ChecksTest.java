package com.panops.crypto.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.jdbc.SqlStates;
import com.panops.crypto.testkit.TrailEvent;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every check the walkthrough makes, fed a broken input: each must fail (and a failed expectation
 * makes the walkthrough throw {@link DemoFailedException}); and fed a good one, hold.
 */
class ChecksTest {
  static final String ROLE = "arn:aws:iam::999988887777:role/PanOpsServiceRole";
  static final String SESSION = "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/w-1";
  static final String ADMIN = "arn:aws:iam::111122223333:role/KeyAdmin";
  static final String ADMIN_ARN = ADMIN;
  static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/k";
  static final String OTHER_KEY = "arn:aws:kms:us-east-1:111122223333:key/other";
  static final Instant T = Instant.parse("2030-01-01T00:00:00Z");
  static final Map<String, String> PROBE = Map.of("panops:purpose", "liveness-probe");
  static final Map<String, String> DATA = Map.of("class", "mail");

  static TrailEvent rec(
      int atMs,
      String op,
      String user,
      String role,
      String key,
      Map<String, String> ctx,
      String code,
      String id) {
    return new TrailEvent(
        T.plusMillis(atMs),
        op,
        user,
        key,
        ctx,
        "SYMMETRIC_DEFAULT",
        code,
        id,
        role,
        null,
        null,
        Map.of());
  }

  static TrailEvent probe(int atMs, String key, String code) {
    return rec(atMs, "Decrypt", SESSION, ROLE, key, PROBE, code, "p" + atMs + key);
  }

  static TrailEvent data(int atMs, String key, String op) {
    return rec(atMs, op, SESSION, ROLE, key, DATA, null, "d" + atMs + key);
  }

  /** A check's verdict, recorded as the walkthrough records it: must the demo then fail? */
  static boolean demoFails(Checks.Verdict v) {
    Checks checks =
        new Checks(
            new Console(
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
    checks.expect("the check", v);
    try {
      checks.requireAllHeld();
      return false;
    } catch (DemoFailedException e) {
      assertEquals(1, e.failedExpectations().size());
      return true;
    }
  }

  static void fails(Checks.Verdict v) {
    assertFalse(v.ok(), v.measured());
    assertTrue(demoFails(v));
  }

  static void holds(Checks.Verdict v) {
    assertTrue(v.ok(), v.measured());
    assertFalse(demoFails(v));
  }

  // ------------------------------------------------------------------ key policy

  static String policy(String vendorStatement) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"CustomerKeyAdministration\","
        + "\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
        + ADMIN
        + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}"
        + vendorStatement
        + "]}";
  }

  static String vendor(String actions, String extra) {
    return ",{\"Sid\":\"PanOpsServiceAccess\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
        + ROLE
        + "\"},\"Action\":"
        + actions
        + ",\"Resource\":\"*\""
        + extra
        + "}";
  }

  static final String FIVE =
      "[\"kms:Encrypt\",\"kms:Decrypt\",\"kms:ReEncrypt*\",\"kms:GenerateDataKey\","
          + "\"kms:DescribeKey\"]";

  @Test
  void keyPolicy_failsWithAnExtraAction_aWildcard_aSecondStatement_orNoStatement() {
    holds(Checks.vendorPolicyFiveOnly(policy(vendor(FIVE, "")), ROLE));
    fails(
        Checks.vendorPolicyFiveOnly(
            policy(vendor(FIVE.replace("]", ",\"kms:DisableKey\"]"), "")), ROLE));
    fails(Checks.vendorPolicyFiveOnly(policy(vendor("\"kms:*\"", "")), ROLE));
    fails(
        Checks.vendorPolicyFiveOnly(
            policy(vendor(FIVE, "") + vendor("[\"kms:CreateGrant\"]", "")), ROLE));
    fails(Checks.vendorPolicyFiveOnly(policy(""), ROLE));
  }

  @Test
  void vendorAdminCalls_failIfOneIsAccepted_orOneWasNotTried() {
    List<String> ops = List.of("DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant");
    Map<String, String> tried = new LinkedHashMap<>();
    ops.forEach(o -> tried.put(o, "AccessDeniedException"));
    holds(Checks.allRefused(tried, ops));
    tried.put("CreateGrant", "accepted");
    fails(Checks.allRefused(tried, ops));
    tried.remove("CreateGrant");
    fails(Checks.allRefused(tried, ops));
    fails(Checks.refusedAs("accepted", "AccessDeniedException", "EnableKey as the vendor"));
    holds(Checks.refusedAs("AccessDeniedException", "AccessDeniedException", "EnableKey"));
  }

  // ------------------------------------------------------------------ TLS

  @Test
  void tls_failsWithoutTls_whenABadCaOrABadNameConnects_orTheRefusalIsOfAnotherKind() {
    holds(Checks.tlsSession(true, "TLSv1.3", "TLS_AES_256_GCM_SHA384"));
    fails(Checks.tlsSession(false, null, null));

    DemoTls.Attempt connected = new DemoTls.Attempt(true, null, false, "");
    DemoTls.Attempt handshake =
        new DemoTls.Attempt(false, "08006", true, ": SSLHandshakeException");
    DemoTls.Attempt authRefused = new DemoTls.Attempt(false, "28000", false, "");
    DemoTls.Attempt nameRefused = new DemoTls.Attempt(false, "08006", false, "");
    holds(Checks.wrongCaRefused(handshake));
    fails(Checks.wrongCaRefused(connected)); // another CA accepted
    fails(Checks.wrongCaRefused(authRefused)); // refused, but not by the certificate check

    holds(Checks.wrongHostRefused(nameRefused, connected));
    fails(Checks.wrongHostRefused(connected, connected)); // the name is not checked
    fails(Checks.wrongHostRefused(authRefused, connected)); // refused for another reason
    // refused even without the name check: the refusal says nothing about the name
    fails(Checks.wrongHostRefused(nameRefused, handshake));

    holds(Checks.insecureModeRefused(SqlStates.INSECURE_TRANSPORT));
    fails(Checks.insecureModeRefused("connected"));
  }

  // ------------------------------------------------------------------ ingest, at rest, read back

  @Test
  void kmsPerDataKey_failsWhenKmsIsCalledPerValue() {
    holds(Checks.kmsPerDataKey(3, 1800, 6));
    fails(Checks.kmsPerDataKey(1800, 1800, 6));
    fails(Checks.kmsPerDataKey(0, 0, 6)); // nothing encrypted proves nothing
  }

  @Test
  void atRest_failsWhenAStoredValueHoldsItsPlaintext() {
    byte[] plain = "dana.whitfield@acme-corp.example".getBytes(StandardCharsets.UTF_8);
    byte[] stored = new byte[plain.length + 40];
    System.arraycopy(plain, 0, stored, 17, plain.length); // a "ciphertext" that leaks
    int leaks = Checks.indexOf(stored, plain) >= 0 ? 1 : 0;
    assertEquals(17, Checks.indexOf(stored, plain));
    fails(Checks.noPlaintext(300, 300, 1200, leaks));
    holds(Checks.noPlaintext(300, 300, 1200, 0));
    fails(Checks.noPlaintext(299, 300, 1196, 0)); // a row missing
    fails(Checks.objectsSealed(10, 1, 10));
    fails(Checks.objectsSealed(10, 0, 9)); // one object not a panops message
    holds(Checks.objectsSealed(10, 0, 10));
  }

  @Test
  void compactOverhead_failsAbove40BytesOrWithoutBothMeasurements() {
    holds(Checks.compactOverhead(1200, 38, 160, 160L * 250));
    holds(Checks.compactOverhead(1200, 40, 160, 160L * 250));
    fails(Checks.compactOverhead(1200, 41, 160, 160L * 250)); // one value over the target
    fails(Checks.compactOverhead(1200, 250, 160, 160L * 250)); // columns silently still v1
    fails(Checks.compactOverhead(0, 0, 160, 160L * 250)); // nothing measured
    fails(Checks.compactOverhead(1200, 38, 0, 0)); // no version-1 value beside it
    fails(Checks.compactOverhead(1200, 38, 160, 160L * 38)); // the v1 column is compact too
  }

  @Test
  void readBackAndLookup_failOnAnyDifference() {
    holds(Checks.readBack(300, 0, 300, 160, 0, 160));
    fails(Checks.readBack(299, 1, 300, 160, 0, 160));
    fails(Checks.readBack(300, 0, 300, 159, 1, 160));
    holds(Checks.lookup(Set.of("a", "b"), Set.of("a", "b"), true));
    fails(Checks.lookup(Set.of("a"), Set.of("a", "b"), true));
    fails(Checks.lookup(Set.of("a", "b", "c"), Set.of("a", "b"), true));
    fails(Checks.lookup(Set.of("a", "b"), Set.of("a", "b"), false));
  }

  // ------------------------------------------------------------------ kill switch and limits

  static Limits limits(ProbeSettings s, boolean fleet) {
    return Limits.of(
        s, Duration.ofMillis(4), Duration.ofMillis(10), fleet ? Duration.ofMillis(2) : null);
  }

  @Test
  void limits_followFromTheProbeSettingsAndTheMeasuredRoundTrips() {
    ProbeSettings oneSecond =
        ProbeSettings.every(Duration.ofSeconds(1)).withSettle(3, Duration.ofSeconds(2));
    Limits l = limits(oneSecond, true);
    // 1 s + 20 ms scheduler + 20 ms poll + 2 x (4 + 4 x 2 + 10) ms + 200 ms scheduling
    assertEquals(Duration.ofMillis(1000 + 20 + 20 + 2 * (4 + 8 + 10) + 200), l.refusal());
    // 2 s + 1 s + 3 x 20 ms + 20 ms + 2 x 22 ms + 2 x 4 ms + 200 ms scheduling
    assertEquals(Duration.ofMillis(2000 + 1000 + 60 + 20 + 44 + 8 + 200), l.restore());
    Limits standalone = limits(oneSecond, false);
    assertEquals(Duration.ofMillis(1000 + 20 + 20 + 2 * (4 + 10) + 200), standalone.refusal());
    // the library's defaults: 5 s, settle 10 s, a 100 ms scheduler period
    Limits defaults = limits(ProbeSettings.defaults(), false);
    assertEquals(Duration.ofMillis(5000 + 100 + 20 + 28 + 200), defaults.refusal());
    assertEquals(Duration.ofMillis(10000 + 5000 + 300 + 20 + 28 + 8 + 200), defaults.restore());
    // every limit stays inside the product's promise of one interval + 500 ms for a refusal
    assertTrue(l.refusal().compareTo(Duration.ofMillis(1500)) < 0, l.refusal().toString());
    // a slower machine gets a longer limit, from its measurement
    Limits slow =
        Limits.of(oneSecond, Duration.ofMillis(40), Duration.ofMillis(100), Duration.ofMillis(20));
    assertTrue(slow.refusal().compareTo(l.refusal()) > 0);
    assertEquals(Duration.ofMillis(7), Limits.slowest(List.of(1_000_000L, 7_000_000L, 3_000_000L)));
    assertEquals(Duration.ofMillis(3), Limits.median(List.of(1_000_000L, 7_000_000L, 3_000_000L)));
    assertEquals(3, l.derivation().size());
    assertTrue(l.derivation().get(0).contains("fan-out"), l.derivation().get(0));
  }

  @Test
  void refusal_failsWhenLate_withAnotherReason_orNever() {
    Duration limit = limits(ProbeSettings.every(Duration.ofSeconds(1)), false).refusal();
    RevocationReason d = RevocationReason.DISABLED;
    holds(Checks.refusedWithin(Duration.ofMillis(600), d, d, limit));
    fails(Checks.refusedWithin(limit.plusMillis(1), d, d, limit)); // one interval + 1 ms too late
    fails(Checks.refusedWithin(Duration.ofMillis(600), RevocationReason.THROTTLED, d, limit));
    fails(Checks.refusedWithin(null, null, d, limit));
    holds(Checks.latchedWithin(Duration.ofMillis(600), d, d, limit));
    fails(Checks.latchedWithin(limit.plusMillis(1), d, d, limit));
    fails(Checks.latchedWithin(null, null, d, limit));
  }

  @Test
  void everyWorker_failsWhenOneWorkerIsLate_orMissing() {
    Duration limit = Duration.ofMillis(1100);
    Map<String, Duration> all = new LinkedHashMap<>();
    all.put("worker-1", Duration.ofMillis(500));
    all.put("worker-2", Duration.ofMillis(520));
    all.put("worker-3", Duration.ofMillis(530));
    holds(Checks.everyWorkerRefused(all, 3, limit));
    all.put("worker-3", Duration.ofMillis(1500)); // a worker that missed the fleet's NOTIFY
    fails(Checks.everyWorkerRefused(all, 3, limit));
    all.remove("worker-3");
    fails(Checks.everyWorkerRefused(all, 3, limit));
    all.put("worker-3", null);
    fails(Checks.everyWorkerRefused(all, 3, limit));
  }

  @Test
  void restore_failsBeforeTheSettleTime_afterTheLimit_orWithoutARestoredEvent() {
    Limits l =
        limits(
            ProbeSettings.every(Duration.ofSeconds(1)).withSettle(3, Duration.ofSeconds(2)), true);
    Duration settle = Duration.ofSeconds(2);
    holds(Checks.restored(Duration.ofMillis(2500), Duration.ofMillis(2490), settle, l.restore()));
    // a single success lifted the latch: served before the settle time
    fails(Checks.restored(Duration.ofMillis(900), Duration.ofMillis(890), settle, l.restore()));
    fails(Checks.restored(l.restore().plusMillis(1), Duration.ofMillis(2490), settle, l.restore()));
    fails(Checks.restored(Duration.ofMillis(2500), null, settle, l.restore()));
    fails(Checks.restored(null, null, settle, l.restore()));
  }

  @Test
  void latchedTraffic_failsWithADataCall_orWithoutAProbe_orAProbeThatSucceeded() {
    holds(Checks.onlyRefusedProbes(0, 3, 3));
    fails(Checks.onlyRefusedProbes(1, 3, 3));
    fails(Checks.onlyRefusedProbes(0, 0, 0));
    fails(Checks.onlyRefusedProbes(0, 3, 2));
  }

  // ------------------------------------------------------------------ the trail

  static Reconciliation.Summary summary(
      int events, int matched, int noResponse, int vendor, int vendorWithout, int other) {
    return new Reconciliation.Summary(
        events,
        matched,
        0,
        0,
        noResponse,
        vendor,
        vendor - vendorWithout,
        vendorWithout,
        0,
        other,
        Map.of(),
        List.of());
  }

  @Test
  void auditAndTrail_failWhenEitherSideHasAnUnmatchedEntry() {
    holds(Checks.auditMatchesTrail(summary(10, 10, 0, 10, 0, 0)));
    holds(Checks.auditMatchesTrail(summary(10, 9, 1, 9, 0, 0)));
    fails(Checks.auditMatchesTrail(summary(10, 9, 0, 9, 0, 0)));
    fails(Checks.auditMatchesTrail(summary(0, 0, 0, 0, 0, 0)));
    holds(Checks.trailHasAudit(summary(10, 10, 0, 10, 0, 0)));
    fails(Checks.trailHasAudit(summary(10, 10, 0, 11, 1, 0)));
    fails(Checks.trailHasAudit(summary(10, 10, 0, 10, 0, 1)));
  }

  @Test
  void fiveOperations_failWhenTheTrailShowsTheVendorCallingAnotherOperation() {
    List<TrailEvent> trail = new ArrayList<>();
    trail.add(data(1, KEY, "GenerateDataKey"));
    trail.add(probe(2, KEY, null));
    holds(Checks.onlyPermittedOperations(trail, ROLE, Set.of()));
    trail.add(data(3, KEY, "DisableKey"));
    fails(Checks.onlyPermittedOperations(trail, ROLE, Set.of()));
    // unless the demo itself made that call (the refused admin actions of step 1)
    holds(Checks.onlyPermittedOperations(trail, ROLE, Set.of("d3" + KEY)));
    fails(Checks.onlyPermittedOperations(List.of(), ROLE, Set.of()));
  }

  @Test
  void adminRecords_failWhenOneIsALibraryCall_orThereAreNone() {
    List<TrailEvent> trail =
        List.of(rec(1, "DisableKey", ADMIN_ARN, ADMIN, KEY, Map.of(), null, "a1"));
    holds(Checks.adminRecordsNotLibrary(trail, ADMIN, Set.of("x")));
    fails(Checks.adminRecordsNotLibrary(trail, ADMIN, Set.of("a1")));
    fails(Checks.adminRecordsNotLibrary(List.of(), ADMIN, Set.of()));
  }

  @Test
  void latchedWindows_runFromTheFirstRefusedProbeToTheFirstSuccessfulOne_perKey() {
    List<TrailEvent> trail =
        List.of(
            probe(0, KEY, null),
            probe(1000, KEY, "DisabledException"),
            probe(1500, OTHER_KEY, null),
            probe(2000, KEY, "DisabledException"),
            // EnableKey at 2100 (the customer's record, not a probe) must not end the window
            rec(2100, "EnableKey", ADMIN_ARN, ADMIN, KEY, Map.of(), null, "a1"),
            probe(3000, KEY, null),
            probe(4000, KEY, null));
    List<Checks.Window> w = Checks.latchedWindows(trail, ROLE);
    assertEquals(List.of(new Checks.Window(KEY, T.plusMillis(1000), T.plusMillis(3000))), w);
  }

  @Test
  void aRefusedCanaryEncrypt_opensAWindow_andOnlyASuccessfulProbeDecryptClosesIt() {
    List<TrailEvent> trail =
        List.of(
            probe(0, KEY, null),
            rec(1000, "Encrypt", SESSION, ROLE, KEY, PROBE, "KMSInvalidStateException", "c1"),
            rec(2000, "Encrypt", SESSION, ROLE, KEY, PROBE, null, "c2"),
            data(2001, KEY, "Decrypt"),
            probe(2002, KEY, null));
    assertEquals(
        List.of(new Checks.Window(KEY, T.plusMillis(1000), T.plusMillis(2002))),
        Checks.latchedWindows(trail, ROLE));
    fails(Checks.noDataCallsWhileLatched(trail, ROLE, Set.of(), Map.of(KEY, 1)));
  }

  @Test
  void noDataCallsWhileLatched_failsWithACallInsideAWindow_evenAfterEnableKey() {
    List<TrailEvent> base = new ArrayList<>();
    base.add(data(500, KEY, "Decrypt")); // before the latch: fine
    base.add(probe(1000, KEY, "DisabledException"));
    base.add(rec(2100, "EnableKey", ADMIN_ARN, ADMIN, KEY, Map.of(), null, "a1"));
    base.add(probe(3000, KEY, null));
    base.add(data(3500, KEY, "Decrypt")); // after the window: fine
    Map<String, Integer> one = Map.of(KEY, 1);
    holds(Checks.noDataCallsWhileLatched(base, ROLE, Set.of(), one));

    // a data Decrypt after EnableKey but before the first successful probe: inside the window
    List<TrailEvent> afterEnable = new ArrayList<>(base);
    afterEnable.add(4, data(2500, KEY, "Decrypt"));
    fails(Checks.noDataCallsWhileLatched(afterEnable, ROLE, Set.of(), one));
    // a GenerateDataKey while latched
    List<TrailEvent> generate = new ArrayList<>(base);
    generate.add(2, data(1200, KEY, "GenerateDataKey"));
    fails(Checks.noDataCallsWhileLatched(generate, ROLE, Set.of(), one));
    // ... but not one of another key, nor one the demo made itself
    List<TrailEvent> other = new ArrayList<>(base);
    other.add(2, data(1200, OTHER_KEY, "Decrypt"));
    holds(Checks.noDataCallsWhileLatched(other, ROLE, Set.of(), one));
    holds(Checks.noDataCallsWhileLatched(generate, ROLE, Set.of("d1200" + KEY), one));
    // no refused probe at all (windows taken from somewhere else would be empty): fails
    fails(
        Checks.noDataCallsWhileLatched(
            List.of(probe(0, KEY, null), data(1, KEY, "Decrypt")), ROLE, Set.of(), one));
    // a window never closed by a successful probe
    fails(
        Checks.noDataCallsWhileLatched(
            List.of(probe(1000, KEY, "DisabledException")), ROLE, Set.of(), one));
  }

  // ------------------------------------------------------------------ fleet

  @Test
  void fleetProbes_failAtOneProbePerWorker_andWhenAKeyIsNotProbed() {
    int k = 2;
    int n = 10;
    int w = 3;
    holds(Checks.fleetProbes(20, k, n, w));
    holds(Checks.fleetProbes(22, k, n, w)); // 1.1 x K x N
    fails(Checks.fleetProbes(23, k, n, w));
    fails(Checks.fleetProbes((long) w * k * n, k, n, w)); // standalone: every worker probes
    fails(Checks.fleetProbes(10, k, n, w)); // one key not probed at all
    fails(Checks.fleetProbes(-1, k, n, w)); // never converged
  }

  @Test
  void probeDecrypts_countsTheFleetsKeysProbesInTheWindowOnly() {
    List<TrailEvent> trail =
        List.of(
            probe(0, KEY, null),
            probe(1000, KEY, null),
            probe(1000, OTHER_KEY, null),
            data(1100, KEY, "Decrypt"),
            probe(1999, KEY, "DisabledException"),
            probe(2000, KEY, null));
    assertEquals(
        2, Checks.probeDecrypts(trail, Set.of(KEY), T.plusMillis(1000), T.plusMillis(2000)));
    assertEquals(
        3,
        Checks.probeDecrypts(
            trail, Set.of(KEY, OTHER_KEY), T.plusMillis(1000), T.plusMillis(2000)));
  }

  @Test
  void aFailedExpectation_makesTheWalkthroughThrow_namingIt() {
    Checks checks =
        new Checks(
            new Console(
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
    checks.expect("holds", true);
    checks.expect("breaks", Checks.fleetProbes(60, 2, 10, 3));
    DemoFailedException e = assertThrows(DemoFailedException.class, checks::requireAllHeld);
    assertEquals(1, e.failedExpectations().size());
    assertTrue(e.getMessage().contains("breaks"), e.getMessage());
    assertEquals(1, checks.held());
  }
}
