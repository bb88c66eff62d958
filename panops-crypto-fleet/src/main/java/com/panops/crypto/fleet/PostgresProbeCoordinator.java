package com.panops.crypto.fleet;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.ProbeCoordinator;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.fleet.FleetMember.Event;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;

/**
 * A {@link ProbeCoordinator} on the workers' own PostgreSQL: one liveness probe per key per
 * interval for the whole fleet, instead of one per worker.
 *
 * <p><b>How.</b> Every worker (one instance of this class per {@code PanopsCrypto}) keeps a row in
 * {@code panops_fleet_member}, rewritten every quarter interval (the heartbeat): the keys it uses
 * (its interest, rewritten only when it changes) and an attestation of the keys its own probes
 * found alive, each with the age of that probe, authenticated with HMAC-SHA256 under a key all
 * workers share. Each worker reads the member rows every quarter interval: a key is assigned to the
 * live member, among those interested in it, with the highest rendezvous hash of (member, key), so
 * a member that joins or leaves moves only its share of keys; the engine probes only the keys
 * assigned to it, and counts the others' attestations as proof of life. A failure (a probe's or a
 * data Decrypt's) is inserted into {@code panops_fleet_event} and announced with {@code NOTIFY} in
 * the same transaction; every worker's dedicated {@code LISTEN} connection (opened from the
 * DataSource directly, never from a pool) reads the new events and latches the key. Restores travel
 * the same way, authenticated, and carry the last event this worker had seen, so a restore never
 * lifts a revocation it had not seen. The LISTEN connection also reads the event table every
 * quarter interval, so a notification lost in a reconnect is never lost as an event.
 *
 * <p><b>Fail safe.</b> The coordinator is healthy only while its heartbeat write, its read of the
 * member rows and its LISTEN connection each succeeded within three quarter intervals; otherwise
 * {@link #assigned} is {@code true} for every key and the worker probes everything itself. The
 * engine also falls back on its own for any key without a fresh proof (see {@link
 * ProbeCoordinator}).
 *
 * <p><b>Trust.</b> The tables are as trusted as the workers: see the module README and SECURITY.md.
 * A party that can write them but cannot call KMS can latch keys (deny service), or stop
 * attestations (the workers then probe on their own); without the attestation key it can neither
 * forge an attestation nor a restore, and a replayed record is too old to count.
 */
public final class PostgresProbeCoordinator implements ProbeCoordinator {
  static final String CHANNEL = FleetSql.CHANNEL;

  private final TlsEnforcingDataSource dataSource;
  private final TlsEnforcingDataSource listenDataSource;
  private final Sleeper sleeper;
  private final FleetMember member;
  private final AtomicBoolean started = new AtomicBoolean();
  private volatile WriterLoop writer;
  private volatile ScheduledExecutorService worker;
  private Thread listener;

  private PostgresProbeCoordinator(Builder b) {
    this.dataSource = b.dataSource;
    this.listenDataSource = b.listenDataSource != null ? b.listenDataSource : b.dataSource;
    this.sleeper = b.sleeper;
    this.member = new FleetMember(b.memberId, b.ticker, b.wallClock, new FleetMac(b.key));
    Arrays.fill(b.key, (byte) 0);
  }

  /** A new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Creates the coordination tables if they do not exist (also done by every worker when it
   * connects). Idempotent.
   */
  public static void createTables(DataSource ds) throws SQLException {
    try (Connection c = ds.getConnection()) {
      FleetSql.ensureSchema(c);
    }
  }

  /** A stable 64-bit hash of (member, key), by which keys are assigned. */
  static long score(String member, String arn) {
    return Rendezvous.score(member, arn);
  }

  /** This worker's member id. */
  public String memberId() {
    return member.id;
  }

  /** Heartbeat writes made so far (for tests and metrics). */
  public long heartbeatWrites() {
    return member.heartbeats.get();
  }

  /** Events (revocations and restores) published so far. */
  public long eventsPublished() {
    return member.published.get();
  }

  /** Whether the coordinator currently trusts its view of the fleet (else: local probes). */
  public boolean isHealthy() {
    return started.get() && !member.closed && member.connectionsFresh();
  }

  @Override
  public void start(Fleet f) {
    Objects.requireNonNull(f, "fleet");
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("a coordinator serves one PanopsCrypto");
    }
    FleetTiming timing = FleetTiming.of(f.probeInterval());
    member.start(f, timing);
    WriterLoop writer = new WriterLoop(dataSource, member, timing);
    ScheduledThreadPoolExecutor w =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "panops-fleet-" + member.id);
              t.setDaemon(true);
              return t;
            });
    this.writer = writer;
    this.worker = w;
    // A random first beat: workers started together do not write in step.
    long first = new SecureRandom().nextInt((int) Math.max(1, timing.heartbeatMs() / 2));
    w.scheduleWithFixedDelay(writer::tick, first, timing.heartbeatMs(), TimeUnit.MILLISECONDS);
    Thread l =
        new Thread(
            new ListenLoop(listenDataSource, member, timing, sleeper),
            "panops-fleet-listen-" + member.id);
    l.setDaemon(true);
    this.listener = l;
    l.start();
  }

  @Override
  public void interested(String keyArn) {
    member.own.used(keyArn, member.ticker.read());
  }

  @Override
  public boolean assigned(String keyArn) {
    if (!isHealthy()) {
      return true;
    }
    Boolean mine = member.assignment.get(keyArn);
    return mine == null || mine;
  }

  @Override
  public void probeSucceeded(String keyArn, Duration sinceStart) {
    member.own.provenAlive(keyArn, member.ticker.read() - sinceStart.toNanos());
  }

  @Override
  public void latched(String keyArn, RevocationReason reason, String errorCode) {
    member.own.forgetAlive(keyArn);
    member.outbox.add(new Event("revoked", keyArn, reason.name(), errorCode, 0));
    flushSoon();
  }

  @Override
  public void restored(String keyArn) {
    member.outbox.add(new Event("restored", keyArn, "RESTORED", null, member.lastSeenSeq.get()));
    flushSoon();
  }

  private void flushSoon() {
    ScheduledExecutorService w = worker;
    if (w != null && !member.closed) {
      try {
        w.execute(writer::flushOutbox);
      } catch (RuntimeException e) {
        // closed meanwhile
      }
    }
  }

  /** Stops the threads, leaves the fleet (deletes this member's row, best effort), disconnects. */
  @Override
  public void close() {
    if (member.closed) {
      return;
    }
    member.closed = true;
    ScheduledExecutorService w = worker;
    if (w != null) {
      try {
        Future<?> leave = w.submit(writer::leave);
        leave.get(2, TimeUnit.SECONDS);
      } catch (Exception e) {
        // best effort: the row goes stale and the others take the keys over anyway
      }
      w.shutdownNow();
    }
    Thread l = listener;
    if (l != null) {
      l.interrupt();
    }
  }

  /**
   * Stops this member abruptly, as a killed process would: no leave, connections dropped (for tests
   * of the hand-over).
   */
  void crash() {
    member.closed = true;
    ScheduledExecutorService w = worker;
    if (w != null) {
      w.shutdownNow();
    }
    Thread l = listener;
    if (l != null) {
      l.interrupt();
    }
  }

  @Override
  public String toString() {
    return "PostgresProbeCoordinator[member=" + member.id + ", key=redacted]";
  }

  /**
   * Builds a {@link PostgresProbeCoordinator}: a DataSource and an attestation key are required.
   */
  public static final class Builder {
    private TlsEnforcingDataSource dataSource;
    private TlsEnforcingDataSource listenDataSource;
    private byte[] key;
    private String memberId = UUID.randomUUID().toString();
    private Ticker ticker = Ticker.systemTicker();
    private Clock wallClock = Clock.systemUTC();
    private Sleeper sleeper = Sleeper.SYSTEM;

    private Builder() {}

    /**
     * Where the coordination tables live: a TLS-enforcing DataSource (verify-full, as for the JDBC
     * adapter). The coordinator opens two physical connections from it, one of them the dedicated
     * LISTEN connection; never give it a pool.
     */
    public Builder dataSource(TlsEnforcingDataSource ds) {
      this.dataSource = Objects.requireNonNull(ds, "dataSource");
      return this;
    }

    /**
     * Where the dedicated LISTEN connection goes, if not to {@link #dataSource} (the same database,
     * e.g. through another route or proxy). Optional; verify-full TLS as for the other.
     */
    public Builder listenDataSource(TlsEnforcingDataSource ds) {
      this.listenDataSource = Objects.requireNonNull(ds, "listenDataSource");
      return this;
    }

    /**
     * The key (at least 32 bytes) every worker of the fleet shares, authenticating attestations and
     * restores; copied, and the copy zeroed once the MAC key is built.
     */
    public Builder attestationKey(byte[] k) {
      Objects.requireNonNull(k, "attestationKey");
      if (k.length < 32) {
        throw new IllegalArgumentException("the attestation key needs at least 32 bytes");
      }
      this.key = k.clone();
      return this;
    }

    /** This worker's id in the fleet (default a random UUID); at most 128 characters. */
    public Builder memberId(String id) {
      Objects.requireNonNull(id, "memberId");
      if (id.isEmpty() || id.length() > 128) {
        throw new IllegalArgumentException("member id must have 1..128 characters");
      }
      this.memberId = id;
      return this;
    }

    /**
     * The clock of the coordinator's ages and health window: the age of its own probes, the expiry
     * of keys no longer used, and how long its connections count as working (default the system
     * ticker).
     */
    public Builder ticker(Ticker t) {
      this.ticker = Objects.requireNonNull(t, "ticker");
      return this;
    }

    /**
     * The wall clock of the timestamps written into the tables, which other workers compare with
     * their own (default the system clock in UTC).
     */
    Builder wallClock(Clock c) {
      this.wallClock = Objects.requireNonNull(c, "wallClock");
      return this;
    }

    /** How the LISTEN connection waits before it reconnects (default {@link Thread#sleep}). */
    Builder sleeper(Sleeper s) {
      this.sleeper = Objects.requireNonNull(s, "sleeper");
      return this;
    }

    /**
     * Builds.
     *
     * @throws IllegalStateException if the DataSource or the attestation key is missing
     */
    public PostgresProbeCoordinator build() {
      if (dataSource == null) {
        throw new IllegalStateException("dataSource must be set");
      }
      if (key == null) {
        throw new IllegalStateException("attestationKey must be set");
      }
      return new PostgresProbeCoordinator(this);
    }
  }
}
