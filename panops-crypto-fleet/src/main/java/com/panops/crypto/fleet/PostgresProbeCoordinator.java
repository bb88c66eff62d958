package com.panops.crypto.fleet;

import com.panops.crypto.ProbeCoordinator;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
  private static final Logger LOG = LoggerFactory.getLogger(PostgresProbeCoordinator.class);
  static final String CHANNEL = "panops_fleet";
  private static final long PUBLISH_LOCK = 0x70616e6f7073L; // "panops"

  private final TlsEnforcingDataSource dataSource;
  private final TlsEnforcingDataSource listenDataSource;
  private final String memberId;
  private final SecretKeySpec macKey;
  private final AtomicBoolean started = new AtomicBoolean();
  private volatile boolean closed;
  private volatile Fleet fleet;
  private long intervalMs;
  private long heartbeatMs;
  private long memberTtlMs;
  private long healthNanos;
  private ScheduledExecutorService worker;
  private Thread listener;

  /** Keys this worker uses, with when the engine last said so (System.nanoTime). */
  private final ConcurrentHashMap<String, Long> interest = new ConcurrentHashMap<>();

  private final AtomicBoolean interestChanged = new AtomicBoolean(true);

  /** Keys this worker's probes found alive, with the probe's start (System.nanoTime). */
  private final ConcurrentHashMap<String, Long> attest = new ConcurrentHashMap<>();

  private volatile Map<String, Boolean> assignment = Map.of();
  private final ConcurrentLinkedQueue<Event> outbox = new ConcurrentLinkedQueue<>();
  private final AtomicLong lastSeenSeq = new AtomicLong(-1);
  private final ConcurrentHashMap<String, Long> lastRevokeSeq = new ConcurrentHashMap<>();
  private volatile long heartbeatOkAt;
  private volatile long pollOkAt;
  private volatile long listenOkAt;
  private final AtomicLong heartbeats = new AtomicLong();
  private final AtomicLong published = new AtomicLong();
  private final AtomicLong interestVersion = new AtomicLong(new SecureRandom().nextLong() >>> 2);

  // worker thread only
  private Connection writer;
  private long heartbeatSeq;
  private final Map<String, MemberView> members = new HashMap<>();
  private String assignmentBasis = "";

  // listener thread only
  private Connection listen;

  private record Event(String kind, String arn, String reason, String errorCode, long basis) {}

  private static final class MemberView {
    long interestVersion = Long.MIN_VALUE;
    Set<String> interest = Set.of();
  }

  private PostgresProbeCoordinator(Builder b) {
    this.dataSource = b.dataSource;
    this.listenDataSource = b.listenDataSource != null ? b.listenDataSource : b.dataSource;
    this.memberId = b.memberId;
    this.macKey = new SecretKeySpec(b.key, "HmacSHA256");
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
      ensureSchema(c);
    }
  }

  static void ensureSchema(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(
          "create table if not exists panops_fleet_member ("
              + " member_id text primary key,"
              + " seq bigint not null,"
              + " written_at_ms bigint not null,"
              + " attest text not null,"
              + " mac bytea not null,"
              + " interest text[] not null,"
              + " interest_version bigint not null,"
              + " updated_at timestamptz not null default now())");
      s.execute(
          "create table if not exists panops_fleet_event ("
              + " seq bigserial primary key,"
              + " member_id text not null,"
              + " kind text not null,"
              + " key_arn text not null,"
              + " reason text not null,"
              + " error_code text,"
              + " basis bigint not null,"
              + " written_at_ms bigint not null,"
              + " mac bytea not null,"
              + " created_at timestamptz not null default now())");
    } catch (SQLException e) {
      // Two workers creating the tables at once: one loses with a duplicate; the tables exist.
      if (!"23505".equals(e.getSQLState()) && !"42P07".equals(e.getSQLState())) {
        throw e;
      }
    }
  }

  /** This worker's member id. */
  public String memberId() {
    return memberId;
  }

  /** Heartbeat writes made so far (for tests and metrics). */
  public long heartbeatWrites() {
    return heartbeats.get();
  }

  /** Events (revocations and restores) published so far. */
  public long eventsPublished() {
    return published.get();
  }

  /** Whether the coordinator currently trusts its view of the fleet (else: local probes). */
  public boolean isHealthy() {
    long now = System.nanoTime();
    return started.get()
        && !closed
        && now - heartbeatOkAt < healthNanos
        && now - pollOkAt < healthNanos
        && now - listenOkAt < healthNanos
        && lastSeenSeq.get() >= 0;
  }

  @Override
  public void start(Fleet f) {
    Objects.requireNonNull(f, "fleet");
    if (!started.compareAndSet(false, true)) {
      throw new IllegalStateException("a coordinator serves one PanopsCrypto");
    }
    this.fleet = f;
    this.intervalMs = Math.max(40, f.probeInterval().toMillis());
    this.heartbeatMs = intervalMs / 4;
    this.memberTtlMs = 3 * heartbeatMs;
    this.healthNanos = TimeUnit.MILLISECONDS.toNanos(3 * heartbeatMs);
    long now = System.nanoTime();
    this.heartbeatOkAt = now - healthNanos;
    this.pollOkAt = now - healthNanos;
    this.listenOkAt = now - healthNanos;
    ScheduledThreadPoolExecutor w =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "panops-fleet-" + memberId);
              t.setDaemon(true);
              return t;
            });
    this.worker = w;
    // A random first beat: workers started together do not write in step.
    long first = new SecureRandom().nextInt((int) Math.max(1, heartbeatMs / 2));
    w.scheduleWithFixedDelay(this::tick, first, heartbeatMs, TimeUnit.MILLISECONDS);
    Thread l = new Thread(this::listenLoop, "panops-fleet-listen-" + memberId);
    l.setDaemon(true);
    this.listener = l;
    l.start();
  }

  @Override
  public void interested(String keyArn) {
    if (interest.put(keyArn, System.nanoTime()) == null) {
      interestChanged.set(true);
    }
  }

  @Override
  public boolean assigned(String keyArn) {
    if (!isHealthy()) {
      return true;
    }
    Boolean mine = assignment.get(keyArn);
    return mine == null || mine;
  }

  @Override
  public void probeSucceeded(String keyArn, Duration sinceStart) {
    attest.put(keyArn, System.nanoTime() - sinceStart.toNanos());
  }

  @Override
  public void latched(String keyArn, RevocationReason reason, String errorCode) {
    attest.remove(keyArn);
    outbox.add(new Event("revoked", keyArn, reason.name(), errorCode, 0));
    flushSoon();
  }

  @Override
  public void restored(String keyArn) {
    outbox.add(new Event("restored", keyArn, "RESTORED", null, lastSeenSeq.get()));
    flushSoon();
  }

  private void flushSoon() {
    ScheduledExecutorService w = worker;
    if (w != null && !closed) {
      try {
        w.execute(this::flushOutbox);
      } catch (RuntimeException e) {
        // closed meanwhile
      }
    }
  }

  /** Stops the threads, leaves the fleet (deletes this member's row, best effort), disconnects. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    ScheduledExecutorService w = worker;
    if (w != null) {
      try {
        Future<?> leave = w.submit(this::leave);
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
    closed = true;
    ScheduledExecutorService w = worker;
    if (w != null) {
      w.shutdownNow();
    }
    Thread l = listener;
    if (l != null) {
      l.interrupt();
    }
  }

  private void leave() {
    try {
      if (writer != null) {
        try (PreparedStatement ps =
            writer.prepareStatement("delete from panops_fleet_member where member_id = ?")) {
          ps.setString(1, memberId);
          ps.executeUpdate();
        }
      }
    } catch (SQLException e) {
      LOG.debug("leaving the fleet failed: {}", e.getSQLState());
    } finally {
      closeQuietly(writer);
      writer = null;
    }
  }

  // ---- the worker thread: heartbeat, poll, publish ----

  private void tick() {
    if (closed) {
      return;
    }
    try {
      Connection c = writer();
      expireInterest();
      heartbeat(c);
      heartbeatOkAt = System.nanoTime();
      flushOutbox();
      poll(c);
      pollOkAt = System.nanoTime();
    } catch (Exception e) {
      dropWriter(e);
    }
  }

  private Connection writer() throws SQLException {
    if (writer == null) {
      Connection c = dataSource.getConnection();
      try {
        c.setNetworkTimeout(Runnable::run, (int) Math.max(1000, 2 * intervalMs));
        c.setAutoCommit(true);
        ensureSchema(c);
      } catch (SQLException e) {
        closeQuietly(c);
        throw e;
      }
      writer = c;
      interestChanged.set(true);
    }
    return writer;
  }

  private void dropWriter(Exception e) {
    if (!closed) {
      LOG.warn(
          "fleet coordinator {}: database unavailable ({}); probing locally",
          memberId,
          e instanceof SQLException s ? s.getSQLState() : e.getClass().getSimpleName());
    }
    closeQuietly(writer);
    writer = null;
  }

  private void expireInterest() {
    long now = System.nanoTime();
    long keep = TimeUnit.MILLISECONDS.toNanos(Math.max(2 * intervalMs, 2000));
    for (Map.Entry<String, Long> e : interest.entrySet()) {
      if (now - e.getValue() > keep && interest.remove(e.getKey(), e.getValue())) {
        interestChanged.set(true);
      }
    }
    long attestKeep = TimeUnit.MILLISECONDS.toNanos(2 * intervalMs);
    attest.entrySet().removeIf(e -> now - e.getValue() > attestKeep);
  }

  private void heartbeat(Connection c) throws SQLException {
    boolean sendInterest = interestChanged.getAndSet(false);
    long now = System.nanoTime();
    long wall = System.currentTimeMillis();
    StringBuilder text = new StringBuilder();
    for (Map.Entry<String, Long> e : new TreeMap<>(attest).entrySet()) {
      long ageMs = TimeUnit.NANOSECONDS.toMillis(now - e.getValue()) + 1;
      text.append(e.getKey()).append('\t').append(ageMs).append('\n');
    }
    long seq = ++heartbeatSeq;
    String attestText = text.toString();
    byte[] mac = mac("member", memberId, Long.toString(seq), Long.toString(wall), attestText);
    long version = sendInterest ? interestVersion.incrementAndGet() : interestVersion.get();
    String[] keys = interest.keySet().toArray(new String[0]);
    Arrays.sort(keys);
    try (PreparedStatement ps =
        c.prepareStatement(
            "insert into panops_fleet_member"
                + " (member_id, seq, written_at_ms, attest, mac, interest, interest_version,"
                + " updated_at) values (?, ?, ?, ?, ?, ?, ?, now())"
                + " on conflict (member_id) do update set seq = excluded.seq,"
                + " written_at_ms = excluded.written_at_ms, attest = excluded.attest,"
                + " mac = excluded.mac, updated_at = now(),"
                + " interest = case when ? then excluded.interest"
                + " else panops_fleet_member.interest end,"
                + " interest_version = case when ? then excluded.interest_version"
                + " else panops_fleet_member.interest_version end")) {
      ps.setString(1, memberId);
      ps.setLong(2, seq);
      ps.setLong(3, wall);
      ps.setString(4, attestText);
      ps.setBytes(5, mac);
      Array arr = c.createArrayOf("text", sendInterest ? keys : new String[0]);
      ps.setArray(6, arr);
      ps.setLong(7, version);
      ps.setBoolean(8, sendInterest);
      ps.setBoolean(9, sendInterest);
      ps.executeUpdate();
    } catch (SQLException e) {
      if (sendInterest) {
        interestChanged.set(true);
      }
      throw e;
    }
    heartbeats.incrementAndGet();
  }

  private void flushOutbox() {
    if (closed) {
      return;
    }
    Event e;
    while ((e = outbox.peek()) != null) {
      try {
        publish(writer(), e);
        outbox.poll();
        published.incrementAndGet();
      } catch (Exception ex) {
        dropWriter(ex);
        return; // kept; retried at the next heartbeat
      }
    }
  }

  private void publish(Connection c, Event e) throws SQLException {
    long wall = System.currentTimeMillis();
    byte[] mac =
        mac(
            "event",
            memberId,
            e.kind(),
            e.arn(),
            e.reason(),
            String.valueOf(e.errorCode()),
            Long.toString(e.basis()),
            Long.toString(wall));
    c.setAutoCommit(false);
    try {
      try (Statement s = c.createStatement()) {
        // Serialises publishers, so event numbers are committed in order: a reader that has
        // seen event n has seen every event before it.
        s.execute("select pg_advisory_xact_lock(" + PUBLISH_LOCK + ")");
      }
      long seq;
      try (PreparedStatement ps =
          c.prepareStatement(
              "insert into panops_fleet_event"
                  + " (member_id, kind, key_arn, reason, error_code, basis, written_at_ms, mac)"
                  + " values (?, ?, ?, ?, ?, ?, ?, ?) returning seq")) {
        ps.setString(1, memberId);
        ps.setString(2, e.kind());
        ps.setString(3, e.arn());
        ps.setString(4, e.reason());
        ps.setString(5, e.errorCode());
        ps.setLong(6, e.basis());
        ps.setLong(7, wall);
        ps.setBytes(8, mac);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          seq = rs.getLong(1);
        }
      }
      try (PreparedStatement ps = c.prepareStatement("select pg_notify(?, ?)")) {
        ps.setString(1, CHANNEL);
        ps.setString(2, Long.toString(seq));
        ps.execute();
      }
      c.commit();
    } catch (SQLException ex) {
      try {
        c.rollback();
      } catch (SQLException ignored) {
        // the connection is dropped by the caller
      }
      throw ex;
    } finally {
      try {
        c.setAutoCommit(true);
      } catch (SQLException ignored) {
        // dropped by the caller on the next failure
      }
    }
  }

  private void poll(Connection c) throws SQLException {
    long wallNow = System.currentTimeMillis();
    Map<String, long[]> live = new HashMap<>(); // member -> {age ms}
    Map<String, String> attests = new HashMap<>();
    Set<String> stale = new HashSet<>();
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select member_id, seq, written_at_ms, attest, mac, interest_version,"
                    + " (extract(epoch from (now() - updated_at)) * 1000)::bigint"
                    + " from panops_fleet_member")) {
      while (rs.next()) {
        String id = rs.getString(1);
        long seq = rs.getLong(2);
        long written = rs.getLong(3);
        String text = rs.getString(4);
        byte[] mac = rs.getBytes(5);
        long version = rs.getLong(6);
        long dbAge = rs.getLong(7);
        if (id.equals(memberId)) {
          continue;
        }
        byte[] want = mac("member", id, Long.toString(seq), Long.toString(written), text);
        if (!MessageDigest.isEqual(want, mac)) {
          continue; // not written by a worker holding the key: not a member
        }
        // The older of the database's and the writer's clock: a row whose timestamp column was
        // refreshed by someone else still shows its authenticated age.
        long age = Math.max(0, Math.max(dbAge, wallNow - written));
        if (age >= memberTtlMs) {
          continue;
        }
        live.put(id, new long[] {age});
        attests.put(id, text);
        MemberView v = members.computeIfAbsent(id, k -> new MemberView());
        if (v.interestVersion != version) {
          stale.add(id);
        }
      }
    }
    if (!stale.isEmpty()) {
      try (PreparedStatement ps =
          c.prepareStatement(
              "select member_id, interest, interest_version from panops_fleet_member"
                  + " where member_id = any(?)")) {
        ps.setArray(1, c.createArrayOf("text", stale.toArray()));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            MemberView v = members.computeIfAbsent(rs.getString(1), k -> new MemberView());
            String[] keys = (String[]) rs.getArray(2).getArray();
            v.interest = Set.of(keys);
            v.interestVersion = rs.getLong(3);
          }
        }
      }
    }
    members.keySet().retainAll(live.keySet());
    reassign(live.keySet());
    Fleet f = fleet;
    if (f == null || closed || System.nanoTime() - listenOkAt >= healthNanos) {
      return; // attestations count only while revocations are heard
    }
    for (Map.Entry<String, String> m : attests.entrySet()) {
      long rowAge = live.get(m.getKey())[0];
      for (String line : m.getValue().split("\n")) {
        int tab = line.indexOf('\t');
        if (tab <= 0) {
          continue;
        }
        String arn = line.substring(0, tab);
        if (!interest.containsKey(arn)) {
          continue;
        }
        long ageMs;
        try {
          ageMs = Long.parseLong(line.substring(tab + 1));
        } catch (NumberFormatException e) {
          continue;
        }
        if (ageMs < 0) {
          continue;
        }
        f.provenAlive(arn, Duration.ofMillis(rowAge + ageMs));
      }
    }
  }

  /** Rendezvous hashing over the live members interested in each key this worker uses. */
  private void reassign(Set<String> liveMembers) {
    List<String> basisParts = new ArrayList<>();
    for (String id : new TreeMap<>(members).keySet()) {
      if (liveMembers.contains(id)) {
        basisParts.add(id + ":" + members.get(id).interestVersion);
      }
    }
    basisParts.add("me:" + interestVersion.get() + ":" + interest.size());
    String basis = String.join(",", basisParts);
    if (basis.equals(assignmentBasis)) {
      return;
    }
    Map<String, Boolean> next = new HashMap<>();
    for (String arn : interest.keySet()) {
      long mine = score(memberId, arn);
      boolean me = true;
      for (Map.Entry<String, MemberView> m : members.entrySet()) {
        if (liveMembers.contains(m.getKey())
            && m.getValue().interest.contains(arn)
            && beats(m.getKey(), score(m.getKey(), arn), memberId, mine)) {
          me = false;
          break;
        }
      }
      next.put(arn, me);
    }
    assignment = next;
    assignmentBasis = basis;
  }

  private static boolean beats(String a, long sa, String b, long sb) {
    return sa != sb ? Long.compareUnsigned(sa, sb) > 0 : a.compareTo(b) > 0;
  }

  /** A stable 64-bit hash of (member, key): FNV-1a, then the SplitMix64 finaliser. */
  static long score(String member, String arn) {
    long h = 0xcbf29ce484222325L;
    for (byte b : member.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    h = (h ^ 0xff) * 0x100000001b3L;
    for (byte b : arn.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
    h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
    return h ^ (h >>> 31);
  }

  // ---- the listener thread ----

  private void listenLoop() {
    while (!closed) {
      try {
        if (listen == null) {
          Connection c = listenDataSource.getConnection();
          try {
            c.setNetworkTimeout(Runnable::run, (int) Math.max(1000, 2 * intervalMs));
            c.setAutoCommit(true);
            ensureSchema(c);
            try (Statement s = c.createStatement()) {
              s.execute("listen " + CHANNEL);
            }
          } catch (SQLException e) {
            closeQuietly(c);
            throw e;
          }
          listen = c;
        }
        PGConnection pg = listen.unwrap(PGConnection.class);
        pg.getNotifications((int) heartbeatMs); // wakes early on NOTIFY
        readEvents(listen); // also the liveness check of this connection, and the catch-up
        listenOkAt = System.nanoTime();
      } catch (Exception e) {
        if (closed) {
          break;
        }
        LOG.warn(
            "fleet coordinator {}: LISTEN connection lost ({}); probing locally",
            memberId,
            e instanceof SQLException s ? s.getSQLState() : e.getClass().getSimpleName());
        closeQuietly(listen);
        listen = null;
        try {
          Thread.sleep(heartbeatMs);
        } catch (InterruptedException ie) {
          break;
        }
      }
    }
    closeQuietly(listen);
    listen = null;
  }

  private void readEvents(Connection c) throws SQLException {
    long seen = lastSeenSeq.get();
    if (seen < 0) {
      // First connection: events before this worker started are history.
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("select coalesce(max(seq), 0) from panops_fleet_event")) {
        rs.next();
        lastSeenSeq.set(rs.getLong(1));
      }
      return;
    }
    int n = 0;
    try (PreparedStatement ps =
        c.prepareStatement(
            "select seq, member_id, kind, key_arn, reason, error_code, basis, written_at_ms, mac"
                + " from panops_fleet_event where seq > ? order by seq limit 1000")) {
      ps.setLong(1, seen);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          n++;
          long seq = rs.getLong(1);
          deliver(
              seq,
              rs.getString(2),
              rs.getString(3),
              rs.getString(4),
              rs.getString(5),
              rs.getString(6),
              rs.getLong(7),
              rs.getLong(8),
              rs.getBytes(9));
          lastSeenSeq.set(seq);
        }
      }
    }
    if (n == 0) {
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("select coalesce(max(seq), 0) from panops_fleet_event")) {
        rs.next();
        long max = rs.getLong(1);
        if (max < seen) {
          lastSeenSeq.set(max); // the table was recreated: follow it
        }
      }
    }
  }

  private void deliver(
      long seq,
      String member,
      String kind,
      String arn,
      String reason,
      String errorCode,
      long basis,
      long written,
      byte[] mac) {
    Fleet f = fleet;
    if (f == null || closed || member.equals(memberId)) {
      return;
    }
    if (!interest.containsKey(arn)) {
      // Not used here now; if it is used later, its first KMS call decides.
      if ("revoked".equals(kind)) {
        lastRevokeSeq.merge(arn, seq, Math::max);
      }
      return;
    }
    if ("restored".equals(kind)) {
      byte[] want =
          mac(
              "event",
              member,
              kind,
              arn,
              reason,
              String.valueOf(errorCode),
              Long.toString(basis),
              Long.toString(written));
      if (!MessageDigest.isEqual(want, mac)) {
        LOG.warn("fleet coordinator {}: unauthenticated restore of {} ignored", memberId, arn);
        return;
      }
      if (basis < lastRevokeSeq.getOrDefault(arn, 0L)) {
        return; // the restorer had not seen a later revocation: it lifts nothing here
      }
      f.restored(arn);
      return;
    }
    // Anything else is a revocation, authenticated or not: it can only make this worker stricter.
    lastRevokeSeq.merge(arn, seq, Math::max);
    attest.remove(arn);
    RevocationReason r;
    try {
      r = RevocationReason.valueOf(reason);
    } catch (RuntimeException e) {
      r = RevocationReason.OTHER;
    }
    f.revoked(arn, r, errorCode);
  }

  private byte[] mac(String... parts) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(macKey);
      for (String p : parts) {
        byte[] b = p.getBytes(StandardCharsets.UTF_8);
        m.update(
            new byte[] {
              (byte) (b.length >>> 24),
              (byte) (b.length >>> 16),
              (byte) (b.length >>> 8),
              (byte) b.length
            });
        m.update(b);
      }
      return m.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException | RuntimeException e) {
        // nothing to do
      }
    }
  }

  @Override
  public String toString() {
    return "PostgresProbeCoordinator[member=" + memberId + ", key=redacted]";
  }

  /**
   * Builds a {@link PostgresProbeCoordinator}: a DataSource and an attestation key are required.
   */
  public static final class Builder {
    private TlsEnforcingDataSource dataSource;
    private TlsEnforcingDataSource listenDataSource;
    private byte[] key;
    private String memberId = UUID.randomUUID().toString();

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
