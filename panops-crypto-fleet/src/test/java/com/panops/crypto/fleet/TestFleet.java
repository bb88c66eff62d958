package com.panops.crypto.fleet;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.ds.PGSimpleDataSource;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * Workers for the fleet ITs: each a {@link PanopsCrypto} with its own SDK KmsClient (to LocalKms on
 * 127.0.0.1, static credentials, a region) and its own {@link PostgresProbeCoordinator} (its own
 * two physical connections, verify-full TLS). In one JVM: starting a JVM per worker would cost more
 * than these 2 shared cores allow, and nothing is shared between workers but the database and KMS.
 */
final class TestFleet implements AutoCloseable {
  static final Duration INTERVAL = Duration.ofSeconds(1);
  static final Duration SETTLE = Duration.ofSeconds(1);
  static final Duration SLACK = Duration.ofMillis(500);
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");
  static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes();

  /** One worker. */
  static final class Worker implements AutoCloseable {
    final String name;
    final KmsClient client;
    final PostgresProbeCoordinator coordinator;
    final PanopsCrypto crypto;
    final BlockingQueue<Seen> events = new LinkedBlockingQueue<>();
    final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    final AtomicLong deferred = new AtomicLong();

    Worker(
        String name,
        LocalKms kms,
        TlsPostgres pg,
        Map<String, TenantKeys> tenants,
        boolean coordinated,
        double budget) {
      this.name = name;
      this.client =
          KmsClient.builder()
              .endpointOverride(kms.endpoint())
              .region(Region.of(kms.region()))
              .credentialsProvider(kms.vendor().credentialsProvider())
              .overrideConfiguration(
                  o ->
                      o.apiCallAttemptTimeout(Duration.ofSeconds(2))
                          .apiCallTimeout(Duration.ofSeconds(5)))
              .build();
      this.coordinator =
          coordinated
              ? PostgresProbeCoordinator.builder()
                  .dataSource(dataSource(pg))
                  .attestationKey(KEY)
                  .memberId(name)
                  .build()
              : null;
      PanopsCrypto.Builder b =
          workerCrypto(
                  client,
                  tenants,
                  INTERVAL,
                  SETTLE,
                  budget > 0 ? OptionalDouble.of(budget) : OptionalDouble.empty())
              .metrics(
                  new CryptoMetrics() {
                    @Override
                    public void probeDeferred() {
                      deferred.incrementAndGet();
                    }
                  })
              .addRevocationListener(e -> events.add(new Seen(e, System.nanoTime())))
              .auditSink(audit::add);
      if (coordinator != null) {
        b.probeCoordinator(coordinator);
      }
      this.crypto = b.build();
    }

    /** Probes of {@code arn} this worker made that started at or after {@code from}. */
    List<Instant> probes(String arn, Instant from) {
      List<Instant> out = new ArrayList<>();
      for (AuditEvent e : audit) {
        if (e.operation().equals("Decrypt")
            && "liveness-probe".equals(e.encryptionContext().get("panops:purpose"))
            && e.keyArn().equals(arn)
            && !e.time().isBefore(from)) {
          out.add(e.time());
        }
      }
      return out;
    }

    /** Waits for the next event of {@code kind} and returns how long after {@code t0} it came. */
    Duration await(RevocationEvent.Kind kind, long t0, Duration wait) throws InterruptedException {
      long deadline = System.nanoTime() + wait.toNanos();
      while (System.nanoTime() < deadline) {
        Seen s = events.poll(20, TimeUnit.MILLISECONDS);
        if (s != null && s.event().kind() == kind) {
          return Duration.ofNanos(s.nanos() - t0);
        }
      }
      fail(name + ": no " + kind + " event within " + wait);
      return null;
    }

    @Override
    public void close() {
      crypto.close();
      client.close();
    }
  }

  record Seen(RevocationEvent event, long nanos) {}

  /**
   * A worker's library over the client and a fixed directory: probes every interval, settling over
   * 3 probes, each with a 2 s timeout, within the KMS request budget if there is one.
   */
  static PanopsCrypto.Builder workerCrypto(
      KmsClient client,
      Map<String, TenantKeys> tenants,
      Duration interval,
      Duration settle,
      OptionalDouble budget) {
    ProbeSettings settings =
        ProbeSettings.every(interval).withSettle(3, settle).withTimeout(Duration.ofSeconds(2));
    if (budget.isPresent()) {
      settings = settings.withBudget(budget.getAsDouble());
    }
    return PanopsCrypto.builder()
        .kmsClient(client)
        .allowInsecureLocalKmsEndpoint()
        .tenantDirectory(TenantDirectory.of(tenants))
        .probeSettings(settings);
  }

  /** Creates the coordination tables if missing and empties them: no member, no event. */
  static void resetCoordinationTables(TlsPostgres pg) throws SQLException {
    PostgresProbeCoordinator.createTables(dataSource(pg));
    try (Connection c = dataSource(pg).getConnection();
        Statement s = c.createStatement()) {
      s.execute("truncate panops_fleet_member, panops_fleet_event");
    }
  }

  static TlsEnforcingDataSource dataSource(TlsPostgres pg) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(pg.jdbcUrl("postgres"));
    ds.setUser(pg.user());
    return TlsEnforcingDataSource.requireVerifyFull(ds);
  }

  final LocalKms kms;
  final List<String> keys = new ArrayList<>();
  final Map<String, TenantKeys> tenants = new HashMap<>();
  final List<Worker> workers = new ArrayList<>();

  TestFleet(LocalKms kms, int keyCount) {
    this.kms = kms;
    for (int i = 0; i < keyCount; i++) {
      String arn = kms.createKey("tenant t" + i);
      keys.add(arn);
      tenants.put("t" + i, TenantKeys.of(arn));
    }
  }

  TestFleet start(TlsPostgres pg, int count, boolean coordinated) {
    return start(pg, count, coordinated, Duration.ZERO);
  }

  /** Starts {@code count} workers and warms each on every key, one KMS call per {@code pace}. */
  TestFleet start(TlsPostgres pg, int count, boolean coordinated, Duration pace) {
    for (int i = 0; i < count; i++) {
      workers.add(new Worker("w" + i, kms, pg, tenants, coordinated, budget));
    }
    for (Worker w : workers) {
      for (int i = 0; i < keys.size(); i++) {
        if (!pace.isZero()) {
          try {
            Thread.sleep(pace.toMillis());
          } catch (InterruptedException e) {
            throw new AssertionError(e);
          }
        }
        try {
          byte[] ct = w.crypto.tenant("t" + i).encrypt("warm".getBytes(), KC, AAD);
          assertArrayEquals("warm".getBytes(), w.crypto.tenant("t" + i).decrypt(ct, KC, AAD));
        } catch (com.panops.crypto.PanopsCryptoException e) {
          if (!tolerateWarmUpFailures) {
            throw e;
          }
          warmUpFailures++;
        }
      }
    }
    return this;
  }

  /** Workers started from now on keep their scheduled probes within this KMS request budget. */
  TestFleet withBudget(double requestsPerSecond) {
    this.budget = requestsPerSecond;
    return this;
  }

  double budget;

  /** Counts warm-up calls that failed instead of throwing (for the standalone quota run). */
  TestFleet tolerateWarmUpFailures() {
    tolerateWarmUpFailures = true;
    return this;
  }

  boolean tolerateWarmUpFailures;
  int warmUpFailures;

  /** How many latches the workers have seen (REVOKED events), all workers together. */
  long revocations() {
    return workers.stream()
        .mapToLong(
            x ->
                x.events.stream()
                    .filter(e -> e.event().kind() == RevocationEvent.Kind.REVOKED)
                    .count())
        .sum();
  }

  /** How many (worker, key) pairs are latched now. */
  long latchedNow() {
    long latched = 0;
    for (Worker x : workers) {
      for (String arn : keys) {
        latched += x.crypto.isRevoked(arn) ? 1 : 0;
      }
    }
    return latched;
  }

  /** Probe Decrypts in LocalKms's trail (the customer's CloudTrail) from {@code from} on. */
  long trailProbes(Instant from, Instant to) {
    return kms.trail().stream()
        .filter(e -> e.eventName().equals("Decrypt"))
        .filter(e -> "liveness-probe".equals(e.encryptionContext().get("panops:purpose")))
        .filter(e -> !e.eventTime().isBefore(from) && e.eventTime().isBefore(to))
        .count();
  }

  @Override
  public void close() {
    for (Worker w : workers) {
      w.close();
    }
  }
}
