package com.panops.crypto.fleet;

import com.panops.crypto.ProbeCoordinator;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The scale simulation: 100 × 10,000 by hand ({@code main}, see there; it loads the machine for
 * about a minute), 20 × 1,000 in the build ({@link FleetScaleIT}). M real {@link
 * PostgresProbeCoordinator}s (each with its own writer and its own LISTEN connection, verify-full
 * TLS) on one embedded PostgreSQL, K keys, each key used by R members plus a few hot keys used by
 * all. The engine is a stub that applies the engine's scheduling rules (one probe per key per
 * interval on a random phase when assigned, or when the fleet's proof is older than 1.75 intervals)
 * and counts probes instead of calling KMS. Reports KMS probes per interval, database writes per
 * second, NOTIFY fan-out latency and assignment skew.
 */
public final class FleetScaleSimulation {
  static final class StubEngine implements ProbeCoordinator.Fleet {
    final Duration interval;
    final List<String> keys;
    final long[] phase;
    final long[] lastAlive;
    final ConcurrentHashMap<String, Integer> index = new ConcurrentHashMap<>();
    final ConcurrentHashMap<String, Long> revokedAt = new ConcurrentHashMap<>();
    PostgresProbeCoordinator coordinator;
    final AtomicLong assignedProbes = new AtomicLong();
    final AtomicLong fallbackProbes = new AtomicLong();
    final long[] lastProbeSlot;

    StubEngine(Duration interval, List<String> keys, Random rnd) {
      this.interval = interval;
      this.keys = keys;
      this.phase = new long[keys.size()];
      this.lastAlive = new long[keys.size()];
      this.lastProbeSlot = new long[keys.size()];
      long now = System.nanoTime();
      for (int i = 0; i < keys.size(); i++) {
        index.put(keys.get(i), i);
        phase[i] = (long) (rnd.nextDouble() * interval.toNanos());
        lastAlive[i] = now;
        lastProbeSlot[i] = -1;
      }
    }

    void scan() {
      long now = System.nanoTime();
      long iv = interval.toNanos();
      for (int i = 0; i < keys.size(); i++) {
        String k = keys.get(i);
        coordinator.interested(k);
        long slot = (now - phase[i]) / iv;
        if (slot == lastProbeSlot[i]) {
          continue;
        }
        lastProbeSlot[i] = slot;
        boolean assigned = coordinator.assigned(k);
        boolean stale;
        synchronized (this) {
          stale = now - lastAlive[i] > iv / 4 * 7;
        }
        if (assigned || stale) {
          (assigned ? assignedProbes : fallbackProbes).incrementAndGet();
          synchronized (this) {
            lastAlive[i] = now;
          }
          coordinator.probeSucceeded(k, Duration.ofMillis(5));
        }
      }
    }

    @Override
    public Duration probeInterval() {
      return interval;
    }

    @Override
    public void provenAlive(String keyArn, Duration age) {
      Integer i = index.get(keyArn);
      if (i != null) {
        long at = System.nanoTime() - age.toNanos();
        synchronized (this) {
          lastAlive[i] = Math.max(lastAlive[i], at);
        }
      }
    }

    @Override
    public void revoked(String keyArn, RevocationReason reason, String errorCode) {
      revokedAt.putIfAbsent(keyArn, System.nanoTime());
    }

    @Override
    public void restored(String keyArn) {}
  }

  /** What one run measured. */
  record Result(
      int members,
      int keys,
      double probesPerInterval,
      long assignedProbes,
      long fallbackProbes,
      double writesPerSecond,
      double writesPerMemberPerInterval,
      int deliveries,
      int expectedDeliveries,
      double p50Ms,
      double p99Ms,
      double maxMs,
      int minLoad,
      int medianLoad,
      int maxLoad,
      double meanLoad) {}

  /**
   * By hand, from the repository root (the first command under the build lock):
   *
   * <pre>
   * ./mvnw -o -q -pl panops-crypto-fleet -am test-compile dependency:build-classpath \
   *     -Dmdep.outputFile=cp.txt -Dmdep.includeScope=test
   * java -cp "$(cat panops-crypto-fleet/cp.txt):panops-crypto-fleet/target/classes:\
   * panops-crypto-fleet/target/test-classes" com.panops.crypto.fleet.FleetScaleSimulation
   * </pre>
   *
   * <p>Defaults {@code -Dmembers=100 -Dkeys=10000 -DmembersPerKey=3 -DintervalS=5 -Dintervals=6}
   * (about a minute). {@link FleetScaleIT} runs 20 × 1,000 at 1 s in the build.
   */
  public static void main(String[] args) throws Exception {
    int members = Integer.parseInt(System.getProperty("members", "100"));
    int keyCount = Integer.parseInt(System.getProperty("keys", "10000"));
    int perKey = Integer.parseInt(System.getProperty("membersPerKey", "3"));
    Duration interval = Duration.ofSeconds(Long.parseLong(System.getProperty("intervalS", "5")));
    int intervals = Integer.parseInt(System.getProperty("intervals", "6"));
    Result r = run(members, keyCount, perKey, 20, interval, intervals);
    System.out.printf(
        "[scale] %d members, %d keys (%d hot keys used by all, others by %d members),"
            + " interval %s, %d intervals measured%n",
        members, keyCount, 20, perKey, interval, intervals);
    print(r);
    System.exit(0);
  }

  static void print(Result r) {
    System.out.printf(
        "[scale] KMS probes per interval: %.0f (assigned %d, fallback %d over the window)%n",
        r.probesPerInterval(), r.assignedProbes(), r.fallbackProbes());
    System.out.printf(
        "[scale] DB writes/s (heartbeat upserts + events): %.1f; per member per interval %.2f%n",
        r.writesPerSecond(), r.writesPerMemberPerInterval());
    System.out.printf(
        "[scale] NOTIFY fan-out to %d members: %d deliveries of %d, p50 %.1f ms, p99 %.1f ms,"
            + " max %.1f ms%n",
        r.members() - 1, r.deliveries(), r.expectedDeliveries(), r.p50Ms(), r.p99Ms(), r.maxMs());
    System.out.printf(
        "[scale] assigned keys per member: min %d, median %d, max %d (mean %.1f)%n",
        r.minLoad(), r.medianLoad(), r.maxLoad(), r.meanLoad());
  }

  /** One run: see the class comment. */
  static Result run(
      int members, int keyCount, int perKey, int hot, Duration interval, int intervals)
      throws Exception {
    Random rnd = new Random(13);
    try (TlsPostgres pg =
        TlsPostgres.builder()
            .serverConfig("max_connections", String.valueOf(2 * members + 20))
            .start()) {
      PostgresProbeCoordinator.createTables(TestFleet.dataSource(pg));
      List<List<String>> uses = new ArrayList<>();
      for (int m = 0; m < members; m++) {
        uses.add(new ArrayList<>());
      }
      for (int k = 0; k < keyCount; k++) {
        String arn = "arn:aws:kms:eu-west-1:111122223333:key/" + k;
        if (k < hot) {
          uses.forEach(u -> u.add(arn));
          continue;
        }
        for (int j = 0; j < perKey; j++) {
          uses.get((k * 7919 + j * 104729) % members).add(arn);
        }
      }
      List<StubEngine> engines = new ArrayList<>();
      List<PostgresProbeCoordinator> coordinators = new ArrayList<>();
      for (int m = 0; m < members; m++) {
        StubEngine e = new StubEngine(interval, uses.get(m), rnd);
        PostgresProbeCoordinator c =
            PostgresProbeCoordinator.builder()
                .dataSource(TestFleet.dataSource(pg))
                .attestationKey(TestFleet.KEY)
                .memberId("m" + m)
                .build();
        e.coordinator = c;
        c.start(e);
        engines.add(e);
        coordinators.add(c);
      }
      ScheduledExecutorService sched = Executors.newScheduledThreadPool(2);
      for (StubEngine e : engines) {
        sched.scheduleAtFixedRate(
            () -> {
              try {
                e.scan();
              } catch (RuntimeException ex) {
                ex.printStackTrace();
              }
            },
            0,
            interval.toMillis() / 20,
            TimeUnit.MILLISECONDS);
      }
      Thread.sleep(interval.multipliedBy(3).toMillis()); // converge
      long writes0 = writes(coordinators);
      long a0 = engines.stream().mapToLong(e -> e.assignedProbes.get()).sum();
      long f0 = engines.stream().mapToLong(e -> e.fallbackProbes.get()).sum();
      long t0 = System.nanoTime();
      Thread.sleep(interval.multipliedBy(intervals).toMillis());
      long t1 = System.nanoTime();
      long writes1 = writes(coordinators);
      long a1 = engines.stream().mapToLong(e -> e.assignedProbes.get()).sum();
      long f1 = engines.stream().mapToLong(e -> e.fallbackProbes.get()).sum();
      double secs = (t1 - t0) / 1e9;
      double perInterval = (a1 - a0 + f1 - f0) / (secs / interval.toSeconds());

      // Fan-out: one member publishes revocations of hot keys (used by every member).
      List<Long> lat = new ArrayList<>();
      for (int h = 0; h < hot; h++) {
        String arn = "arn:aws:kms:eu-west-1:111122223333:key/" + h;
        long sent = System.nanoTime();
        coordinators.get(h % members).latched(arn, RevocationReason.DISABLED, "DisabledException");
        long deadline = sent + TimeUnit.SECONDS.toNanos(10);
        int publisher = h % members;
        while (System.nanoTime() < deadline) {
          int got = 0;
          for (int m = 0; m < members; m++) {
            if (m != publisher && engines.get(m).revokedAt.containsKey(arn)) {
              got++;
            }
          }
          if (got == members - 1) {
            break;
          }
          Thread.sleep(5);
        }
        for (int m = 0; m < members; m++) {
          Long at = engines.get(m).revokedAt.get(arn);
          if (m != publisher && at != null) {
            lat.add(at - sent);
          }
        }
      }
      long[] l = lat.stream().mapToLong(Long::longValue).sorted().toArray();

      int[] load = new int[members];
      for (int m = 0; m < members; m++) {
        for (String k : uses.get(m)) {
          if (coordinators.get(m).assigned(k)) {
            load[m]++;
          }
        }
      }
      int[] sorted = load.clone();
      Arrays.sort(sorted);
      sched.shutdownNow();
      coordinators.forEach(PostgresProbeCoordinator::close);
      return new Result(
          members,
          keyCount,
          perInterval,
          a1 - a0,
          f1 - f0,
          (writes1 - writes0) / secs,
          (writes1 - writes0) / (secs / interval.toSeconds()) / members,
          l.length,
          hot * (members - 1),
          l.length == 0 ? -1 : l[l.length / 2] / 1e6,
          l.length == 0 ? -1 : l[Math.min(l.length - 1, (int) (l.length * 0.99))] / 1e6,
          l.length == 0 ? -1 : l[l.length - 1] / 1e6,
          sorted[0],
          sorted[members / 2],
          sorted[members - 1],
          Arrays.stream(load).average().orElse(0));
    }
  }

  /** Heartbeat upserts and published events, counted by the writers themselves. */
  static long writes(List<PostgresProbeCoordinator> cs) {
    return cs.stream().mapToLong(c -> c.heartbeatWrites() + c.eventsPublished()).sum();
  }
}
