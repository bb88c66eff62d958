package com.panops.crypto.fleet;

import static com.panops.crypto.fleet.TestFleet.AAD;
import static com.panops.crypto.fleet.TestFleet.INTERVAL;
import static com.panops.crypto.fleet.TestFleet.KC;
import static com.panops.crypto.fleet.TestFleet.SETTLE;
import static com.panops.crypto.fleet.TestFleet.SLACK;
import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.fleet.TestFleet.Worker;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The fleet's kill switch against real parts: embedded PostgreSQL 16 over pgjdbc with TLS
 * verify-full, LocalKms over HTTP on 127.0.0.1 through the SDK's KmsClient. Workers are in this JVM
 * (see {@link TestFleet}), each with its own connections and KMS client. Probe interval 1 s, settle
 * 3 probes over 1 s.
 */
class FleetCoordinationIT {
  static TlsPostgres pg;
  LocalKms kms;
  TestFleet fleet;

  @BeforeAll
  static void startPostgres() {
    pg = TlsPostgres.start();
  }

  @AfterAll
  static void stopPostgres() {
    pg.close();
  }

  @BeforeEach
  void setUp() throws Exception {
    kms = LocalKms.start();
    TestFleet.resetCoordinationTables(pg);
  }

  @AfterEach
  void tearDown() {
    if (fleet != null) {
      fleet.close();
    }
    kms.close();
  }

  static void record(String line) throws IOException {
    System.out.println("[fleet] " + line);
    Path p = Path.of("target", "fleet-measurements.txt");
    Files.writeString(p, line + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /** Waits until the workers have heard of each other and agree on one prober per key. */
  /**
   * Starts a coordinated fleet of that many keys and workers on the class's PostgreSQL, waits until
   * it converges, and returns its first key.
   */
  String convergedFleet(int keyCount, int workerCount) throws InterruptedException {
    fleet = new TestFleet(kms, keyCount).start(pg, workerCount, true);
    converge();
    return fleet.keys.get(0);
  }

  void converge() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      boolean ok = true;
      for (String arn : fleet.keys) {
        long n = fleet.workers.stream().filter(w -> w.coordinator.assigned(arn)).count();
        ok &= n == 1;
      }
      if (ok) {
        return;
      }
      Thread.sleep(50);
    }
    fail("the fleet did not agree on one prober per key within 10 s");
  }

  @Test
  void probeDecryptsInTheTrail_areAboutOnePerKeyPerInterval_notOnePerWorker() throws Exception {
    int w = 3;
    int k = 6;
    int n = 10;
    fleet = new TestFleet(kms, k).start(pg, w, true);
    converge();
    Thread.sleep(INTERVAL.toMillis()); // let the last standalone-era probes drain
    Instant from = Instant.now();
    Thread.sleep(INTERVAL.multipliedBy(n).toMillis());
    Instant to = Instant.now();
    long coordinated = fleet.trailProbes(from, to);
    long heartbeats = fleet.workers.stream().mapToLong(x -> x.coordinator.heartbeatWrites()).sum();
    fleet.close();

    fleet = new TestFleet(kms, k).start(pg, w, false);
    Thread.sleep(INTERVAL.toMillis());
    Instant from2 = Instant.now();
    Thread.sleep(INTERVAL.multipliedBy(n).toMillis());
    long standalone = fleet.trailProbes(from2, Instant.now());

    record(
        String.format(
            "probe Decrypts over %d intervals of %d ms, K=%d keys, W=%d workers: coordinated %d"
                + " (%.3f per key per interval), standalone %d (%.3f per key per interval);"
                + " heartbeat writes in all %d",
            n,
            INTERVAL.toMillis(),
            k,
            w,
            coordinated,
            coordinated / (double) (k * n),
            standalone,
            standalone / (double) (k * n),
            heartbeats));
    assertTrue(coordinated <= Math.round(1.1 * k * n), "coordinated: " + coordinated);
    assertTrue(coordinated >= (long) k * (n - 1), "every key still probed: " + coordinated);
    assertTrue(standalone >= (long) w * k * (n - 1), "standalone: " + standalone);
  }

  @Test
  void everyWorkerRefusesADisabledKeyWithinOneInterval_andServesAgainAfterSettling()
      throws Exception {
    String arn = convergedFleet(2, 3);
    byte[][] ct = new byte[3][];
    for (int i = 0; i < 3; i++) {
      ct[i] = fleet.workers.get(i).crypto.tenant("t0").encrypt("x".getBytes(), KC, AAD);
    }
    long t0 = System.nanoTime();
    kms.disableKey(arn);
    for (Worker w : fleet.workers) {
      Duration took = w.await(RevocationEvent.Kind.REVOKED, t0, Duration.ofSeconds(5));
      record(w.name + " refused the disabled key after " + took.toMillis() + " ms");
      assertTrue(took.compareTo(INTERVAL.plus(SLACK)) <= 0, w.name + ": " + took);
    }
    for (int i = 0; i < 3; i++) {
      byte[] c = ct[i];
      Worker w = fleet.workers.get(i);
      assertThrows(KeyRevokedException.class, () -> w.crypto.tenant("t0").decrypt(c, KC, AAD));
    }
    long t1 = System.nanoTime();
    kms.enableKey(arn);
    for (Worker w : fleet.workers) {
      Duration took = w.await(RevocationEvent.Kind.RESTORED, t1, Duration.ofSeconds(8));
      record(w.name + " served the re-enabled key again after " + took.toMillis() + " ms");
      assertTrue(took.compareTo(SETTLE.plus(INTERVAL).plus(SLACK)) <= 0, w.name + ": " + took);
      assertTrue(took.compareTo(SETTLE) >= 0, w.name + " restored before settling: " + took);
    }
    for (int i = 0; i < 3; i++) {
      assertArrayEquals(
          "x".getBytes(), fleet.workers.get(i).crypto.tenant("t0").decrypt(ct[i], KC, AAD));
    }
  }

  @Test
  void aWorkerStoppedAbruptly_hasItsKeysTakenOver_andADisableDuringTheHandOverIsRefused()
      throws Exception {
    String arn = convergedFleet(3, 4);
    Worker prober =
        fleet.workers.stream().filter(w -> w.coordinator.assigned(arn)).findFirst().get();
    List<Worker> others = fleet.workers.stream().filter(w -> w != prober).toList();
    long t0 = System.nanoTime();
    Instant crashedAt = Instant.now();
    prober.coordinator.crash(); // no leave, no more heartbeats: as a SIGKILL would
    prober.close();
    fleet.workers.remove(prober);

    // Take-over: another worker probes the key within two intervals.
    long deadline = t0 + INTERVAL.multipliedBy(2).plus(SLACK).toNanos();
    boolean taken = false;
    while (System.nanoTime() < deadline && !taken) {
      taken = others.stream().anyMatch(w -> !w.probes(arn, crashedAt).isEmpty());
      Thread.sleep(20);
    }
    assertTrue(taken, "no worker probed the dead member's key within two intervals + 500 ms");
    Instant first =
        others.stream()
            .flatMap(w -> w.probes(arn, crashedAt).stream())
            .min(Instant::compareTo)
            .get();
    record(
        "key taken over "
            + Duration.between(crashedAt, first).toMillis()
            + " ms after its prober stopped");

    // A key disabled during the hand-over: every survivor refuses it within 2 intervals + 500 ms.
    converge();
    fleet.workers.forEach(w -> w.events.clear());
    String other = fleet.keys.stream().filter(a -> !a.equals(arn)).findFirst().get();
    TestFleet f2 = fleet;
    Worker p2 =
        f2.workers.stream().filter(w -> w.coordinator.assigned(other)).findFirst().orElse(null);
    assertNotNull(p2);
    Worker killed = p2;
    long t1 = System.nanoTime();
    killed.coordinator.crash();
    killed.close();
    fleet.workers.remove(killed);
    kms.disableKey(other);
    for (Worker w : fleet.workers) {
      Duration took = w.await(RevocationEvent.Kind.REVOKED, t1, Duration.ofSeconds(6));
      record(
          w.name + " refused a key disabled during the hand-over after " + took.toMillis() + " ms");
      assertTrue(took.compareTo(INTERVAL.multipliedBy(2).plus(SLACK)) <= 0, w.name + ": " + took);
    }
  }

  /**
   * A cold start of the whole fleet against a KMS quota below workers × keys / interval (LocalKms
   * throttles above 20 requests/s, burst 10; 4 workers × 8 keys at 1 s would need 32 probes/s):
   * coordinated, nothing is throttled once the fleet has converged and no key stays latched;
   * standalone, the probes alone exceed the quota and KMS throttles them (which latches: fail
   * closed). Warm-up data-key calls are paced at 5/s in both runs.
   */
  @Test
  void aColdStartUnderAKmsQuota_staysUnderItCoordinated_andIsThrottledStandalone()
      throws Exception {
    int w = 4;
    int k = 8;
    kms.requestRate(20, 10);
    Instant start = Instant.now();
    fleet = new TestFleet(kms, k).start(pg, w, true, Duration.ofMillis(200));
    Instant warm = Instant.now();
    Thread.sleep(INTERVAL.multipliedBy(2).toMillis());
    Instant from = Instant.now();
    Thread.sleep(INTERVAL.multipliedBy(5).toMillis());
    Instant to = Instant.now();
    long throttledCold = throttled(start, from);
    long throttledSteady = throttled(from, to);
    long latchedAtEnd = fleet.latchedNow();
    long revocations = fleet.revocations();
    record(
        String.format(
            "cold start, 4 workers x 8 keys, quota 20/s: coordinated: throttled %d during warm-up"
                + " (%d ms) and convergence, %d in the 5 s after; %d latches, %d keys latched at the"
                + " end",
            throttledCold,
            Duration.between(start, warm).toMillis(),
            throttledSteady,
            revocations,
            latchedAtEnd));
    assertEquals(0, throttledSteady, "the coordinated fleet stays under the quota");
    assertEquals(0, latchedAtEnd, "no key stays latched");
    fleet.close();

    // Standalone, even the paced warm-up can be throttled by the probes of the workers already
    // warm: such calls fail (KmsUnavailableException) and are counted, not thrown.
    fleet =
        new TestFleet(kms, k).tolerateWarmUpFailures().start(pg, w, false, Duration.ofMillis(200));
    Instant from2 = Instant.now();
    Thread.sleep(INTERVAL.multipliedBy(5).toMillis());
    long throttledStandalone = throttled(from2, Instant.now());
    long standaloneRevocations = fleet.revocations();
    record(
        "cold start standalone: throttled "
            + throttledStandalone
            + " requests in 5 s after warm-up; "
            + standaloneRevocations
            + " latches (throttling fails closed); "
            + fleet.warmUpFailures
            + " of 32 warm-up encryptions failed");
    assertTrue(throttledStandalone > 0, "standalone probes exceed the quota");
  }

  /**
   * The probe budget holds under a KMS quota: 3 standalone workers × 10 keys at 1 s need 30
   * probes/s; LocalKms throttles above 20 requests/s (burst 8). With a budget of 5 requests/s per
   * worker (15/s for the fleet) nothing is throttled after the warm-up, the trail shows at most the
   * budget, no key is latched, and the shortfall is reported (the deferral metric). Without a
   * budget the same fleet is throttled (and throttling latches: fail closed).
   */
  @Test
  void aProbeBudget_keepsTheFleetUnderTheKmsQuota_andReportsTheShortfall() throws Exception {
    int w = 3;
    int k = 10;
    double budget = 5;
    int seconds = 5;
    kms.requestRate(20, 8);
    fleet =
        new TestFleet(kms, k)
            .withBudget(budget)
            .tolerateWarmUpFailures()
            .start(pg, w, false, Duration.ofMillis(100));
    Thread.sleep(INTERVAL.toMillis());
    Instant from = Instant.now();
    Thread.sleep(Duration.ofSeconds(seconds).toMillis());
    Instant to = Instant.now();
    long probeCalls =
        kms.trail().stream()
            .filter(e -> "liveness-probe".equals(e.encryptionContext().get("panops:purpose")))
            .filter(e -> !e.eventTime().isBefore(from) && e.eventTime().isBefore(to))
            .count();
    long throttledBudget = throttled(from, to);
    long deferred = fleet.workers.stream().mapToLong(x -> x.deferred.get()).sum();
    long latched = fleet.latchedNow();
    fleet.close();

    fleet =
        new TestFleet(kms, k).tolerateWarmUpFailures().start(pg, w, false, Duration.ofMillis(100));
    Thread.sleep(INTERVAL.toMillis());
    Instant from2 = Instant.now();
    Thread.sleep(Duration.ofSeconds(seconds).toMillis());
    long throttledNoBudget = throttled(from2, Instant.now());
    record(
        String.format(
            "budget %.0f requests/s per worker, %d standalone workers x %d keys at 1 s (demand %d"
                + " probes/s), quota 20/s: %d probe KMS calls in %d s (%.1f/s), %d throttled, %d"
                + " probes deferred, %d keys latched at the end; without the budget %d throttled",
            budget,
            w,
            k,
            w * k,
            probeCalls,
            seconds,
            probeCalls / (double) seconds,
            throttledBudget,
            deferred,
            latched,
            throttledNoBudget));
    // each worker: its rate plus one bucket (2 tokens) plus one probe in flight at each end
    assertTrue(probeCalls <= Math.round(w * (budget * seconds + 2 + 1)), "calls " + probeCalls);
    assertEquals(0, throttledBudget, "within the budget the fleet stays under the quota");
    assertEquals(0, latched, "no key latched");
    assertTrue(deferred > 0, "the shortfall is reported");
    assertTrue(throttledNoBudget > 0, "without the budget the same fleet is throttled");
  }

  long throttled(Instant from, Instant to) {
    return kms.trail().stream()
        .filter(e -> "ThrottlingException".equals(e.errorCode()))
        .filter(e -> !e.eventTime().isBefore(from) && e.eventTime().isBefore(to))
        .count();
  }

  /**
   * A party that can write the tables but lacks the attestation key: its restore (NOTIFY and all)
   * lifts nothing; a genuine restore still does.
   */
  @Test
  void aForgedRestore_liftsNothing() throws Exception {
    String arn = convergedFleet(1, 2);
    Worker other =
        fleet.workers.stream().filter(w -> !w.coordinator.assigned(arn)).findFirst().get();
    long t0 = System.nanoTime();
    kms.disableKey(arn);
    other.await(RevocationEvent.Kind.REVOKED, t0, Duration.ofSeconds(5));
    kms.enableKey(arn); // the prober will settle and restore genuinely, no sooner than SETTLE
    try (Connection c = TestFleet.dataSource(pg).getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "insert into panops_fleet_event (member_id, kind, key_arn, reason, basis,"
              + " written_at_ms, mac) values ('mallory', 'restored', '"
              + arn
              + "', 'RESTORED', 9223372036854775807, "
              + System.currentTimeMillis()
              + ", '\\x00')");
      s.execute("notify " + PostgresProbeCoordinator.CHANNEL + ", '0'");
    }
    long forged = System.nanoTime();
    Duration restored = other.await(RevocationEvent.Kind.RESTORED, forged, Duration.ofSeconds(6));
    assertTrue(
        restored.compareTo(SETTLE.minus(Duration.ofMillis(200))) >= 0,
        "restored " + restored.toMillis() + " ms after the forged restore: it was believed");
  }

  @Test
  void postgresStopped_everyWorkerProbesOnItsOwnWithinTwoIntervals_andStillRefusesADisable()
      throws Exception {
    TlsPostgres own = TlsPostgres.start();
    try {
      fleet = new TestFleet(kms, 2).start(own, 3, true);
      converge();
      Instant stopped = Instant.now();
      own.close();
      Thread.sleep(INTERVAL.multipliedBy(2).plus(SLACK).toMillis());
      Instant bound = stopped.plus(INTERVAL.multipliedBy(2).plus(SLACK));
      for (Worker w : fleet.workers) {
        assertFalse(w.coordinator.isHealthy(), w.name);
        for (String arn : fleet.keys) {
          List<Instant> p = w.probes(arn, stopped).stream().filter(i -> i.isBefore(bound)).toList();
          assertFalse(p.isEmpty(), w.name + " did not probe " + arn + " on its own");
          record(
              w.name
                  + " probed on its own "
                  + Duration.between(stopped, p.get(0)).toMillis()
                  + " ms after PostgreSQL stopped");
        }
      }
      String arn = fleet.keys.get(1);
      long t1 = System.nanoTime();
      kms.disableKey(arn);
      for (Worker w : fleet.workers) {
        Duration took = w.await(RevocationEvent.Kind.REVOKED, t1, Duration.ofSeconds(5));
        record(
            w.name + " refused a key disabled during the outage after " + took.toMillis() + " ms");
        assertTrue(took.compareTo(INTERVAL.plus(SLACK)) <= 0, w.name + ": " + took);
      }
    } finally {
      own.close();
    }
  }
}
