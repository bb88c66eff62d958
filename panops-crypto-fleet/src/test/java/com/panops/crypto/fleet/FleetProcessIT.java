package com.panops.crypto.fleet;

import static com.panops.crypto.fleet.TestFleet.INTERVAL;
import static com.panops.crypto.fleet.TestFleet.SETTLE;
import static com.panops.crypto.fleet.TestFleet.SLACK;
import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.fleet.WorkerProcess.Line;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The fleet's measured targets with workers as separate processes: W = 3 worker JVMs ({@link
 * FleetWorkerMain}, started by {@link WorkerProcess}), each with its own SDK KmsClient to LocalKms
 * (this JVM, HTTP on 127.0.0.1) and its own {@link PostgresProbeCoordinator} on an embedded TLS
 * PostgreSQL 16 (verify-full; this class's own server, so that it can be stopped and restarted).
 * Worker w0's LISTEN connection goes through a {@link PausableProxy}. Every worker reports, every
 * 20 ms, whether it can decrypt each of K = 6 keys. Probe interval 1 s, settle 3 probes over 1 s.
 *
 * <p>The scenarios share the workers (starting JVMs is the expensive part) and run in order; each
 * leaves every key enabled and served. The last kills a worker with SIGKILL.
 */
@Tag("process-level")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetProcessIT {
  static final int W = 3;
  static final int K = 6;
  static TlsPostgres pg;
  static LocalKms kms;
  static PausableProxy listenProxy;
  static final List<String> keys = new ArrayList<>();
  static final List<WorkerProcess> workers = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    pg = TlsPostgres.start();
    kms = LocalKms.start();
    PostgresProbeCoordinator.createTables(TestFleet.dataSource(pg));
    listenProxy = new PausableProxy(pg.port());
    for (int i = 0; i < K; i++) {
      keys.add(kms.createKey("tenant t" + i));
    }
    for (int i = 0; i < W; i++) {
      List<String> args = new ArrayList<>();
      args.add("kms=" + kms.endpoint());
      args.add("region=" + kms.region());
      args.add("accessKey=" + kms.vendor().accessKeyId());
      args.add("secretKey=" + kms.vendor().secretAccessKey());
      args.add("pgUrl=" + pg.jdbcUrl("postgres"));
      args.add("pgUser=" + pg.user());
      if (i == 0) {
        args.add(
            "listenUrl="
                + pg.jdbcUrl("postgres")
                    .replace("localhost:" + pg.port(), "127.0.0.1:" + listenProxy.port()));
      }
      args.add("keys=" + String.join(",", keys));
      args.add("intervalMs=" + INTERVAL.toMillis());
      args.add("settleMs=" + SETTLE.toMillis());
      args.add("coordinated=true");
      workers.add(new WorkerProcess("w" + i, args));
    }
    for (WorkerProcess w : workers) {
      w.awaitReady(Duration.ofSeconds(60));
    }
  }

  @AfterAll
  static void stop() throws IOException {
    for (WorkerProcess w : workers) {
      w.close();
    }
    if (listenProxy != null) {
      listenProxy.close();
    }
    if (kms != null) {
      kms.close();
    }
    if (pg != null) {
      pg.close();
    }
  }

  static void record(String line) throws IOException {
    FleetCoordinationIT.record("[processes] " + line);
  }

  static long now() {
    return System.currentTimeMillis();
  }

  static List<WorkerProcess> alive() {
    return workers.stream().filter(w -> w.process.isAlive()).toList();
  }

  /** Waits until every live worker is healthy, serves every key, and one probes each key. */
  static void converge() throws InterruptedException {
    long deadline = now() + 15_000;
    while (now() < deadline) {
      boolean ok = true;
      for (WorkerProcess w : alive()) {
        ok &= "true".equals(w.current("HEALTHY", -1));
        for (int k = 0; k < K; k++) {
          ok &= "SERVED".equals(w.current("STATE", k));
        }
      }
      for (int k = 0; k < K; k++) {
        int key = k;
        ok &= alive().stream().filter(w -> "true".equals(w.current("ASSIGNED", key))).count() == 1;
      }
      if (ok) {
        return;
      }
      Thread.sleep(50);
    }
    StringBuilder b = new StringBuilder();
    for (WorkerProcess w : alive()) {
      b.append(w.name).append(": healthy ").append(w.current("HEALTHY", -1));
      for (int k = 0; k < K; k++) {
        b.append(", ").append(k).append(' ').append(w.current("STATE", k));
        b.append('/').append(w.current("ASSIGNED", k));
      }
      b.append("; ");
    }
    fail("the fleet did not converge within 15 s: " + b);
  }

  /** Probe Decrypts in LocalKms's trail in [from, to). */
  static long trailProbes(Instant from, Instant to) {
    return kms.trail().stream()
        .filter(e -> e.eventName().equals("Decrypt"))
        .filter(e -> "liveness-probe".equals(e.encryptionContext().get("panops:purpose")))
        .filter(e -> !e.eventTime().isBefore(from) && e.eventTime().isBefore(to))
        .count();
  }

  /**
   * Asserts each of {@code ws} probes every key itself at the standalone rate: at least 4 probes of
   * each in 4.5 intervals from now (a worker that only fell back on the engine's own rules, a probe
   * when the proof is 1.75 to 2 intervals old, would make 2 or 3).
   */
  static void assertProbesEveryKeyEveryInterval(List<WorkerProcess> ws, String what)
      throws Exception {
    long from = now();
    long to = from + INTERVAL.multipliedBy(9).dividedBy(2).toMillis();
    Thread.sleep(to - from + 200); // the last lines on their way
    for (WorkerProcess w : ws) {
      StringBuilder counts = new StringBuilder();
      for (int k = 0; k < K; k++) {
        counts.append(k).append(':').append(w.probes(k, from, to)).append(' ');
      }
      record(w.name + " probes per key in 4.5 intervals " + what + ": " + counts);
      for (int k = 0; k < K; k++) {
        assertTrue(w.probes(k, from, to) >= 4, w.name + " " + what + ": " + counts);
      }
    }
  }

  /** Asserts every live worker refuses {@code key} within {@code bound} of {@code t0}. */
  static void assertRefusedBy(List<WorkerProcess> ws, int key, long t0, Duration bound, String what)
      throws Exception {
    for (WorkerProcess w : ws) {
      Line l =
          w.await(
              t0,
              t0 + bound.toMillis() + 3_000,
              x -> x.kind().equals("STATE") && x.key() == key && !x.value().equals("SERVED"));
      assertNotNull(l, w.name + " never refused key " + key + " " + what);
      long took = l.ms() - t0;
      record(w.name + " refused a key " + what + " after " + took + " ms (" + l.value() + ")");
      assertTrue(took <= bound.toMillis(), w.name + " " + what + ": " + took + " ms > " + bound);
    }
  }

  /** Enables {@code key} and waits until every live worker serves it again; the worst time. */
  static long enableAndAwaitServed(int key) throws Exception {
    return enableAndAwaitServedByEach(key).values().stream()
        .mapToLong(Long::longValue)
        .max()
        .orElse(0);
  }

  /**
   * Enables {@code key} and waits until every live worker serves it again; how long each took, in
   * ms, in the order of {@link #alive()}.
   */
  static Map<WorkerProcess, Long> enableAndAwaitServedByEach(int key) throws Exception {
    long t1 = now();
    kms.enableKey(keys.get(key));
    Map<WorkerProcess, Long> took = new LinkedHashMap<>();
    for (WorkerProcess w : alive()) {
      Line l =
          w.await(
              t1,
              t1 + 10_000,
              x -> x.kind().equals("STATE") && x.key() == key && x.value().equals("SERVED"));
      assertNotNull(l, w.name + " never served key " + key + " again");
      took.put(w, l.ms() - t1);
    }
    return took;
  }

  @Test
  @Order(1)
  void probeDecryptsInTheTrail_areAtMost1point1TimesKeysTimesIntervals() throws Exception {
    converge();
    int n = 10;
    Thread.sleep(INTERVAL.toMillis());
    Instant from = Instant.now();
    Thread.sleep(INTERVAL.multipliedBy(n).toMillis());
    Instant to = Instant.now();
    long probes = trailProbes(from, to);
    record(
        String.format(
            "probe Decrypts over %d intervals of %d ms, K=%d keys, W=%d worker processes:"
                + " %d (%.3f per key per interval; bound 1.1 x K x N = %d; standalone would be"
                + " W x K x N = %d)",
            n,
            INTERVAL.toMillis(),
            K,
            W,
            probes,
            probes / (double) (K * n),
            (long) Math.floor(1.1 * K * n),
            W * K * n));
    assertTrue(probes <= (long) Math.floor(1.1 * K * n), "probes: " + probes);
    assertTrue(probes >= (long) K * (n - 1), "every key still probed: " + probes);
  }

  @Test
  @Order(2)
  void everyWorkerRefusesADisabledKeyWithinOneInterval_andServesAgainAfterSettling()
      throws Exception {
    converge();
    int key = 0;
    long t0 = now();
    kms.disableKey(keys.get(key));
    assertRefusedBy(alive(), key, t0, INTERVAL.plus(SLACK), "disabled");
    for (Map.Entry<WorkerProcess, Long> e : enableAndAwaitServedByEach(key).entrySet()) {
      WorkerProcess w = e.getKey();
      long took = e.getValue();
      record(w.name + " served the re-enabled key again after " + took + " ms");
      assertTrue(
          took <= SETTLE.plus(INTERVAL).plus(SLACK).toMillis(), w.name + ": " + took + " ms");
      assertTrue(took >= SETTLE.toMillis() - 200, w.name + " served before settling: " + took);
    }
  }

  /**
   * The LISTEN connection of w0 only stalls (its proxy forwards nothing; the other connection and
   * the other workers are fine): w0 must notice, stop counting the fleet's attestations, probe
   * every key itself, and refuse a key disabled meanwhile within one interval + 500 ms.
   */
  @Test
  @Order(3)
  void aStalledListenConnection_makesThatWorkerProbeOnItsOwn_andRefuseADisable() throws Exception {
    converge();
    WorkerProcess w0 = workers.get(0);
    long tp = now();
    listenProxy.pause();
    try {
      Line unhealthy =
          w0.await(tp, tp + 5_000, x -> x.kind().equals("HEALTHY") && x.value().equals("false"));
      assertNotNull(unhealthy, "w0 did not notice its stalled LISTEN connection");
      record(
          "w0 noticed its stalled LISTEN connection after "
              + (unhealthy.ms() - tp)
              + " ms and probes on its own");
      assertTrue(unhealthy.ms() - tp <= INTERVAL.toMillis(), "noticed late");
      long bound = tp + INTERVAL.multipliedBy(2).plus(SLACK).toMillis();
      Thread.sleep(Math.max(0, bound - now()));
      for (int k = 0; k < K; k++) {
        assertTrue(w0.probes(k, tp, bound) > 0, "w0 did not probe key " + k + " itself within 2 I");
      }
      assertProbesEveryKeyEveryInterval(List.of(w0), "while its LISTEN connection stalls");
      for (WorkerProcess w : workers.subList(1, W)) {
        assertEquals("true", w.current("HEALTHY", -1), w.name + " is unaffected");
      }
      int key = 1;
      long t0 = now();
      kms.disableKey(keys.get(key));
      assertRefusedBy(alive(), key, t0, INTERVAL.plus(SLACK), "disabled while w0's LISTEN stalled");
    } finally {
      listenProxy.resume();
    }
    record("after the stall: served again by all " + enableAndAwaitServed(1) + " ms after enable");
    converge();
  }

  /**
   * PostgreSQL stops (fast shutdown, connections dropped) and comes back on the same port with the
   * same data: every worker probes every key on its own within two intervals; a key disabled during
   * the outage is refused within one interval + 500 ms; afterwards coordination resumes (about one
   * probe per key per interval again).
   */
  @Test
  @Order(4)
  void postgresRestart_workersProbeOnTheirOwn_refuseADisable_andCoordinationResumes()
      throws Exception {
    converge();
    long ts = now();
    pg.stop();
    long stopped = now();
    record("PostgreSQL stopped in " + (stopped - ts) + " ms");
    long bound = ts + INTERVAL.multipliedBy(2).plus(SLACK).toMillis();
    Thread.sleep(Math.max(0, bound - now()));
    for (WorkerProcess w : alive()) {
      assertEquals("false", w.current("HEALTHY", -1), w.name + " still trusts the fleet");
      for (int k = 0; k < K; k++) {
        assertTrue(w.probes(k, ts, bound) > 0, w.name + " did not probe key " + k + " on its own");
      }
    }
    assertProbesEveryKeyEveryInterval(alive(), "while PostgreSQL is down");
    int key = 2;
    long t0 = now();
    kms.disableKey(keys.get(key));
    assertRefusedBy(alive(), key, t0, INTERVAL.plus(SLACK), "disabled while PostgreSQL was down");
    long tr = now();
    pg.restart();
    record("PostgreSQL restarted in " + (now() - tr) + " ms");
    enableAndAwaitServed(key);
    converge();
    record("coordination resumed " + (now() - tr) + " ms after the restart began");
    int n = 8;
    Thread.sleep(INTERVAL.toMillis());
    Instant from = Instant.now();
    Thread.sleep(INTERVAL.multipliedBy(n).toMillis());
    long probes = trailProbes(from, Instant.now());
    record(
        String.format(
            "after the restart: %d probe Decrypts over %d intervals (%.3f per key per interval)",
            probes, n, probes / (double) (K * n)));
    assertTrue(probes <= (long) Math.floor(1.1 * K * n), "coordination resumed: " + probes);
  }

  /**
   * SIGKILL the worker that probes key 3, and disable key 3 at the same moment: a survivor is
   * assigned the key within two intervals and probes it within two intervals + 500 ms, and every
   * survivor refuses it within two intervals + 500 ms. {@code Process.destroyForcibly()} sends
   * SIGKILL on Linux: the exit value is 137 (128 + 9).
   */
  @Test
  @Order(5)
  void sigkillTheProber_aSurvivorTakesOver_andADisableDuringTheHandOverIsRefused()
      throws Exception {
    converge();
    int key = 3;
    WorkerProcess prober =
        alive().stream().filter(w -> "true".equals(w.current("ASSIGNED", key))).findFirst().get();
    List<WorkerProcess> survivors = alive().stream().filter(w -> w != prober).toList();
    long tk = now();
    int exit = prober.kill();
    kms.disableKey(keys.get(key));
    record(prober.name + " killed: exit value " + exit + " (128 + SIGKILL)");
    assertEquals(137, exit, "destroyForcibly sent SIGKILL");
    assertRefusedBy(
        survivors, key, tk, INTERVAL.multipliedBy(2).plus(SLACK), "disabled as its prober died");
    // Reassigned within 2 intervals (member TTL 3/4 interval + a poll), then probed on the key's
    // own phase: up to one more interval after the reassignment, so 2 intervals + 500 ms.
    long bound = tk + INTERVAL.multipliedBy(2).toMillis();
    long first = Long.MAX_VALUE;
    for (WorkerProcess w : survivors) {
      for (Line l : w.lines) {
        if (l.kind().equals("PROBE") && l.key() == key && l.ms() >= tk) {
          first = Math.min(first, l.ms());
        }
      }
    }
    record("key taken over " + (first - tk) + " ms after its prober was killed");
    assertTrue(
        first <= bound + SLACK.toMillis(),
        "no survivor probed the key within 2 intervals + 500 ms");
    // ...because the fleet reassigned it (not only the engine's fallback on a stale proof)
    Line reassigned = null;
    for (WorkerProcess w : survivors) {
      Line l =
          w.await(
              tk,
              bound,
              x -> x.kind().equals("ASSIGNED") && x.key() == key && x.value().equals("true"));
      if (l != null && (reassigned == null || l.ms() < reassigned.ms())) {
        reassigned = l;
      }
    }
    assertNotNull(reassigned, "no survivor was assigned the dead prober's key within 2 intervals");
    record("key reassigned " + (reassigned.ms() - tk) + " ms after its prober was killed");
    enableAndAwaitServed(key);
    converge();
  }
}
