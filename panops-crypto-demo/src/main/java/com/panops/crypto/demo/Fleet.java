package com.panops.crypto.demo;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.fleet.PostgresProbeCoordinator;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.testkit.TrailEvent;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The worker's fleet: worker-1 (the walkthrough's own worker) and {@value
 * Walkthrough#FLEET_WORKERS} - 1 more {@code PanopsCrypto} instances in this JVM, each with its own
 * KmsClient (its own assumed-role session) and {@code PostgresProbeCoordinator} on the demo's TLS
 * PostgreSQL, all serving the customer's two keys. Coordinated, one worker probes each key per
 * interval; the fleet's probes are counted in the customer's trail once the workers agree who
 * probes which key.
 */
final class Fleet implements AutoCloseable {
  private static final byte[] ATTESTATION_KEY = new byte[32];

  static {
    new SecureRandom().nextBytes(ATTESTATION_KEY);
  }

  private static final byte[] VALUE = "a value the worker keeps".getBytes(StandardCharsets.UTF_8);

  private final DemoRun run;
  private final PostgresProbeCoordinator first;
  private final List<Worker> others = new ArrayList<>();
  private volatile Instant countFrom;
  private volatile boolean converged;

  /**
   * @param first worker-1's coordinator
   */
  Fleet(DemoRun run, PostgresProbeCoordinator first) {
    this.run = run;
    this.first = first;
  }

  static PostgresProbeCoordinator coordinator(TlsEnforcingDataSource ds, String name) {
    return PostgresProbeCoordinator.builder()
        .dataSource(ds)
        .attestationKey(ATTESTATION_KEY)
        .memberId(name)
        .build();
  }

  private static MessageAad aad(String worker) {
    return MessageAad.of("worker", worker);
  }

  /** Another worker instance: its own KmsClient (its own session), coordinator and PanopsCrypto. */
  private final class Worker implements AutoCloseable {
    final String name;
    final KmsClient client;
    final PostgresProbeCoordinator coordinator;
    final PanopsCrypto crypto;
    final byte[] ciphertext;

    Worker(String name, TlsEnforcingDataSource ds) {
      this.name = name;
      this.client = run.vendorKmsClient(run.sessionOf(name));
      this.coordinator = Fleet.coordinator(ds, name);
      this.crypto =
          PanopsCrypto.builder()
              .kmsClient(client)
              .tenantDirectory(run.directory())
              .allowInsecureLocalKmsEndpoint()
              .probeSettings(DemoRun.probeSettings())
              .probeCoordinator(coordinator)
              .auditSink(run.audit::add)
              .build();
      // it serves both keys too (and so records its interest in them)
      crypto.tenant(Walkthrough.SECOND_TENANT).encrypt(VALUE, Mailbox.MAIL, aad(name));
      this.ciphertext = crypto.tenant(Walkthrough.TENANT).encrypt(VALUE, Mailbox.MAIL, aad(name));
      crypto.tenant(Walkthrough.TENANT).decrypt(ciphertext, Mailbox.MAIL, aad(name));
    }

    /** Decrypts its warm value: null if served, else the reason it was refused. */
    RevocationReason refusal() {
      try {
        crypto.tenant(Walkthrough.TENANT).decrypt(ciphertext, Mailbox.MAIL, aad(name));
        return null;
      } catch (KeyRevokedException e) {
        return e.reason();
      }
    }

    @Override
    public void close() {
      crypto.close();
      client.close();
    }
  }

  /**
   * worker-1 ({@code crypto}) takes on the second key, the other workers start, and the fleet is
   * described; the workers' agreement is awaited on a thread of its own.
   */
  void start(PanopsCrypto crypto, TlsEnforcingDataSource ds) {
    crypto.tenant(Walkthrough.SECOND_TENANT).encrypt(VALUE, Mailbox.MAIL, aad("worker-1"));
    for (int i = 2; i <= Walkthrough.FLEET_WORKERS; i++) {
      others.add(new Worker("worker-" + i, ds));
    }
    Console con = run.con;
    con.kv(
        "  a fleet of " + Walkthrough.FLEET_WORKERS + " worker instances",
        "worker-1 (this one: PostgreSQL, S3) and worker-2.."
            + Walkthrough.FLEET_WORKERS
            + ": separate PanopsCrypto instances in this JVM,");
    con.kv(
        "",
        "each with its own KmsClient (its own assumed-role session) and PostgresProbeCoordinator");
    con.kv(
        "",
        "(verify-full TLS to the demo's PostgreSQL, one LISTEN connection each); all serve "
            + Walkthrough.TENANT
            + " and "
            + Walkthrough.SECOND_TENANT);
    con.kv("", "coordinated, one worker probes each key per interval and NOTIFY tells the others");
    Thread t =
        new Thread(
            () -> {
              try {
                awaitConvergence();
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "demo-fleet-convergence");
    t.setDaemon(true);
    t.start();
  }

  /** Waits until exactly one worker is assigned each key; then the count starts an interval on. */
  private void awaitConvergence() throws InterruptedException {
    List<PostgresProbeCoordinator> all = new ArrayList<>();
    all.add(first);
    others.forEach(w -> all.add(w.coordinator));
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      boolean ok = true;
      for (String arn : List.of(run.keyArn, run.secondKeyArn)) {
        ok &= all.stream().filter(c -> c.assigned(arn)).count() == 1;
      }
      if (ok) {
        // let probes scheduled before the agreement drain
        converged = true;
        countFrom = Instant.now().plus(Walkthrough.PROBE_INTERVAL);
        return;
      }
      Thread.sleep(20);
    }
    countFrom = Instant.now(); // no agreement: count anyway, the check shows what that costs
  }

  /**
   * Counts the probe Decrypts of the fleet's keys in the customer's trail over {@value
   * Walkthrough#FLEET_INTERVALS} intervals after the workers agreed who probes what (waiting out
   * the rest).
   */
  long countProbes() throws InterruptedException {
    int workers = Walkthrough.FLEET_WORKERS;
    int intervals = Walkthrough.FLEET_INTERVALS;
    run.con.blank();
    run.con.line(
        "The fleet's probes in the customer's CloudTrail ("
            + workers
            + " workers, K = 2 keys, "
            + intervals
            + " intervals of "
            + Console.ms(Walkthrough.PROBE_INTERVAL)
            + "):");
    long deadline = System.nanoTime() + Duration.ofSeconds(25).toNanos();
    while (countFrom == null && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    Instant from = countFrom;
    long counted = -1;
    if (from != null) {
      counted = countAfter(from);
    }
    run.checks.expect(
        "coordinated, the customer's CloudTrail gets about one probe per key per interval, not one"
            + " per worker",
        Checks.fleetProbes(counted, 2, intervals, workers));
    run.summaryLine(
        "fleet probes (" + workers + " workers, 2 keys, " + intervals + " intervals)",
        counted + " (standalone: " + workers * 2 * intervals + ")");
    return counted;
  }

  /** Waits for the intervals counted from {@code from} to pass, then counts and prints them. */
  private long countAfter(Instant from) throws InterruptedException {
    Instant to = from.plus(Walkthrough.PROBE_INTERVAL.multipliedBy(Walkthrough.FLEET_INTERVALS));
    long wait = Duration.between(Instant.now(), to).toMillis() + 200;
    if (wait > 0) {
      Thread.sleep(wait);
    }
    Set<String> keys = Set.of(run.keyArn, run.secondKeyArn);
    long counted = Checks.probeDecrypts(run.kms.trail(), keys, from, to);
    Map<String, Long> bySession = new TreeMap<>();
    for (TrailEvent e : run.kms.trail()) {
      if (Checks.isProbe(e)
          && keys.contains(e.keyId())
          && !e.eventTime().isBefore(from)
          && e.eventTime().isBefore(to)) {
        bySession.merge(e.userArn().replaceAll(".*/", ""), 1L, Long::sum);
      }
    }
    run.con.kv(
        "  the workers agreed who probes which key",
        converged ? "yes, counted from an interval after" : "NO (within 10 s)");
    run.con.kv("  probe Decrypts by worker session", bySession.toString());
    return counted;
  }

  /** The other workers (not worker-1). */
  int others() {
    return others.size();
  }

  /**
   * Records in {@code refused} the time since {@code since} of each other worker's first refused
   * decrypt, for the workers not in it yet.
   */
  void recordRefusals(Map<String, Duration> refused, long since) {
    for (Worker w : others) {
      if (!refused.containsKey(w.name) && w.refusal() != null) {
        refused.put(w.name, Duration.ofNanos(System.nanoTime() - since));
      }
    }
  }

  /** Stops the other workers (worker-1 is closed by its owner); closing again does nothing. */
  @Override
  public void close() {
    for (Worker w : others) {
      w.close();
    }
    others.clear();
  }
}
