package com.panops.crypto.demo;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.fleet.PostgresProbeCoordinator;
import com.panops.crypto.jdbc.PostgresDataKeyRegistry;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.s3.EncryptingS3Client;
import com.panops.crypto.s3.ServerSideLayer;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The project's main job on embedded defaults: a connector worker ingests a customer's mail into
 * PostgreSQL and S3 under the customer's KMS key, and the customer pulls the kill switch.
 *
 * <p>Starts LocalKms (in process), S3Mock and PostgreSQL 16 with TLS (child processes), all on
 * 127.0.0.1; creates the customer's key with the seed's key policy; ingests {@value #MESSAGES}
 * synthetic messages (encrypted columns, a blind-indexed sender, encrypted attachments in S3);
 * reads everything back; then, with three worker instances coordinated through PostgreSQL
 * (panops-crypto-fleet), counts the fleet's probes in the trail, disables the key, re-enables it,
 * schedules its deletion and cancels it, measuring how quickly reads stop and resume while every
 * data key is cached, against limits derived from the probe settings and round trips measured just
 * before; runs the three customer kill switches once more at the library's default probe interval
 * ({@link DefaultIntervalScenes}, alongside); and finally reconciles the library's audit events
 * with the customer's CloudTrail (LocalKms's trail) by request id and checks the trail's latched
 * windows for data calls. Every expectation is printed as it is checked; {@link #run} throws {@link
 * DemoFailedException} naming the ones that failed. The servers are stopped in every case.
 *
 * <p>Prints no key material and no message body; subject lines of the synthetic data appear.
 */
public final class Walkthrough {
  /** The customer. */
  public static final String TENANT = "acme-corp";

  /** The liveness probe interval: the kill switch holds within this, with a warm cache. */
  public static final Duration PROBE_INTERVAL = Duration.ofSeconds(1);

  /**
   * How long a customer-action latch settles before it lifts (3 successful probes over this): AWS
   * applies key changes with a propagation delay, and a single success during it must lift nothing.
   * The library's default is 10 s; the demo uses 2 s so that it does not drag.
   */
  public static final Duration SETTLE = Duration.ofSeconds(2);

  /** Worker instances in the kill-switch part, coordinated through PostgreSQL. */
  public static final int FLEET_WORKERS = 3;

  /** Probe intervals over which the fleet's probe Decrypts are counted in the trail. */
  public static final int FLEET_INTERVALS = 10;

  /** The customer's second key (its EU mailboxes): the fleet serves K = 2 keys. */
  static final String SECOND_TENANT = "acme-corp-eu";

  static final int MESSAGES = 300;

  /** Concurrent S3 requests of the worker (uploads and read-back). */
  static final int S3_THREADS = 4;

  /**
   * What the walkthrough measured.
   *
   * @param expectationsHeld how many expectations held (all of them, when returned)
   * @param messagesVerified messages read back and compared, after ingest
   * @param attachmentsVerified attachments read back and compared, after ingest
   * @param ingestDataKeyCalls KMS calls for data keys while ingesting (probes not counted)
   * @param encryptedValues values and objects encrypted while ingesting
   * @param disableToDbRefusal from DisableKey to the first refused database read
   * @param disableToS3Refusal from DisableKey to the first refused S3 GET
   * @param enableToService from EnableKey to the first served read (the later of DB and S3)
   * @param refusalLimit the refusal limit of step 4, derived from the probe settings and round
   *     trips measured just before
   * @param restoreLimit the restore limit of step 4, derived likewise
   * @param dataCallsWhileLatched KMS calls other than probes inside the latched windows the trail
   *     shows (first refused probe to first successful probe, per key)
   * @param latchedWindows those windows, over all keys
   * @param fleetProbeDecrypts probe Decrypts in the trail over {@link #FLEET_INTERVALS} intervals
   *     for the fleet's keys, {@link #FLEET_WORKERS} workers coordinated
   * @param fleetKeys the number of keys the fleet served
   * @param auditEvents the library's audit events
   * @param auditMatched audit events matched to a CloudTrail record
   * @param vendorTrailWithoutAudit vendor CloudTrail records without an audit event
   * @param reconciled whether audit events and CloudTrail matched one to one
   * @param walkthroughTime time from "servers up" to the end of the reconciliation
   */
  public record Result(
      int expectationsHeld,
      int messagesVerified,
      int attachmentsVerified,
      long ingestDataKeyCalls,
      long encryptedValues,
      Duration disableToDbRefusal,
      Duration disableToS3Refusal,
      Duration enableToService,
      Duration refusalLimit,
      Duration restoreLimit,
      long dataCallsWhileLatched,
      int latchedWindows,
      long fleetProbeDecrypts,
      int fleetKeys,
      int auditEvents,
      int auditMatched,
      int vendorTrailWithoutAudit,
      boolean reconciled,
      Duration walkthroughTime) {}

  private final DemoRun run;
  private final Console con;
  private final Revocations revocations;
  private ExecutorService pool;

  private Walkthrough(Console con, Checks checks, DemoServers servers) {
    this.run = new DemoRun(con, checks, servers);
    this.con = con;
    this.revocations = new Revocations(con);
  }

  /**
   * Runs the walkthrough, printing it to {@code out}.
   *
   * @return what was measured, if every expectation held
   * @throws DemoFailedException if an expectation did not hold (it names them)
   * @throws Exception if the walkthrough could not run (a server did not start, ...)
   */
  public static Result run(PrintStream out) throws Exception {
    Console con = new Console(out);
    Checks checks = new Checks(con);
    con.title("panops-crypto: a connector worker under the customer's kill switch");
    con.line(
        "A mail connector stores a customer's messages in PostgreSQL and their attachments in");
    con.line(
        "S3, encrypted under data keys from the customer's own KMS key. The customer can stop");
    con.line("the vendor at any time by disabling that key, scheduling its deletion or removing");
    con.line("the vendor from its key policy. This run shows that happening, with the data keys");
    con.line("cached, and what the customer's CloudTrail records. Everything runs on 127.0.0.1;");
    con.line("the data is synthetic.");
    con.step(0, "Start the customer's KMS, S3 and PostgreSQL (embedded, nothing to install)");
    Result result;
    try (DemoServers servers = DemoServers.start(con)) {
      result = new Walkthrough(con, checks, servers).walk();
    }
    con.blank();
    List<String> failed = checks.failed();
    if (!failed.isEmpty()) {
      throw new DemoFailedException(failed);
    }
    con.raw(
        "RESULT: all "
            + checks.held()
            + " expectations held; the walkthrough took "
            + Console.ms(result.walkthroughTime())
            + " after the servers were up.");
    return result;
  }

  // ------------------------------------------------------------------------------------------

  private Result walk() throws Exception {
    long t0 = System.nanoTime();
    pool = Executors.newFixedThreadPool(S3_THREADS, daemon("demo-worker-s3"));
    try {
      return walk(t0);
    } finally {
      pool.shutdownNow();
    }
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  private Result walk(long t0) throws Exception {
    CustomerKey.create(run);
    ExecutorService side =
        Executors.newSingleThreadExecutor(daemon("demo-default-interval-scenes"));
    try (KmsClient vendorKms = run.vendorKmsClient();
        KmsClient scenesKms = run.vendorKmsClient(run.sessionOf("worker-defaults"));
        S3Client raw = run.s3Client();
        S3Client forEncryption = run.s3Client()) {
      Future<DefaultIntervalScenes.Outcome> scenes = startScenes(side, scenesKms);
      return serve(t0, vendorKms, raw, forEncryption, scenes);
    } finally {
      side.shutdownNow();
    }
  }

  /** The library's default probe settings, three more customers: on their own thread meanwhile. */
  private Future<DefaultIntervalScenes.Outcome> startScenes(
      ExecutorService side, KmsClient scenesKms) {
    DefaultIntervalScenes scenes =
        new DefaultIntervalScenes(run.kms, scenesKms, run.audit::add, run::kmsRoundTrip);
    scenes.keyArns().forEach(k -> run.expectedWindows.put(k, 1));
    run.keyNames.putAll(scenes.keyNames());
    run.keyNames.put(run.keyArn, TENANT);
    run.keyNames.put(run.secondKeyArn, SECOND_TENANT);
    return side.submit(scenes::run);
  }

  /** worker-1 and its fleet on the demo's PostgreSQL and S3, through steps 2 to 6. */
  private Result serve(
      long t0,
      KmsClient vendorKms,
      S3Client raw,
      S3Client forEncryption,
      Future<DefaultIntervalScenes.Outcome> scenes)
      throws Exception {
    TlsEnforcingDataSource ds = dataSource();
    PostgresProbeCoordinator.createTables(ds);
    // compact values: each data key's wrapped key once in panops_data_keys, beside the values
    PostgresDataKeyRegistry registry = PostgresDataKeyRegistry.on(ds);
    registry.createTableIfMissing();
    PostgresProbeCoordinator coordinator = Fleet.coordinator(ds, "worker-1");
    Fleet fleet = new Fleet(run, coordinator);
    try (PanopsCrypto crypto = workerCrypto(vendorKms, coordinator, registry)) {
      printWorker();
      fleet.start(crypto, ds);
      try (Connection conn = ds.getConnection();
          EncryptingS3Client enc =
              EncryptingS3Client.builder()
                  .s3Client(forEncryption)
                  .crypto(crypto)
                  .tenant(TENANT)
                  .keyContext(Mailbox.ATTACHMENTS)
                  .serverSideLayer(ServerSideLayer.BUCKET_DEFAULT)
                  .allowInsecureLocalS3Endpoint()
                  .build()) {
        Mailbox box = new Mailbox(run, conn, raw, enc, pool);
        return steps(t0, ds, crypto, box, fleet, scenes);
      }
    } finally {
      fleet.close();
    }
  }

  private Result steps(
      long t0,
      DataSource ds,
      PanopsCrypto crypto,
      Mailbox box,
      Fleet fleet,
      Future<DefaultIntervalScenes.Outcome> scenes)
      throws Exception {
    Ingest.Cost ingest = Ingest.run(run, box, ds, crypto);
    int[] verified =
        ReadBack.run(run, box, 3, "Read everything back and verify it; find one sender");
    KillSwitch.Result kill = new KillSwitch(run, box, fleet, revocations).run();
    fleet.close();
    defaultIntervalScenes(scenes);
    quiesceAndClose(crypto);
    TrailReport.Result trail = TrailReport.run(run);
    run.servers.kms.deliverCloudTrail(); // every record so far, as log files
    CustomerVerifier.run(run.con, run.checks, run.servers.cloudTrail);
    Duration total = Duration.ofNanos(System.nanoTime() - t0);
    printSummary(total, kill.limits());
    Reconciliation.Summary rec = trail.reconciliation();
    return new Result(
        run.checks.held(),
        verified[0],
        verified[1],
        ingest.dataCalls(),
        ingest.values(),
        kill.off().db(),
        kill.off().s3(),
        kill.on().later(),
        kill.limits().refusal(),
        kill.limits().restore(),
        trail.dataCallsWhileLatched(),
        trail.latchedWindows(),
        kill.fleetProbes(),
        2,
        rec.auditEvents(),
        rec.auditMatched(),
        rec.vendorTrailWithoutAudit(),
        rec.reconciled(),
        total);
  }

  private TlsEnforcingDataSource dataSource() throws SQLException {
    PGSimpleDataSource pg = new PGSimpleDataSource();
    pg.setUrl(run.servers.postgres.jdbcUrl("postgres")); // sslmode=verify-full&sslrootcert=<CA>
    pg.setUser(run.servers.postgres.user());
    return TlsEnforcingDataSource.requireVerifyFull(pg);
  }

  private PanopsCrypto workerCrypto(
      KmsClient vendorKms, PostgresProbeCoordinator c, PostgresDataKeyRegistry registry) {
    return PanopsCrypto.builder()
        .kmsClient(vendorKms)
        .tenantDirectory(run.directory())
        .dataKeyRegistry(registry) // EncryptedColumns default to compact values
        .allowInsecureLocalKmsEndpoint() // LocalKms speaks plain HTTP on 127.0.0.1
        .probeSettings(DemoRun.probeSettings())
        .probeCoordinator(c)
        .auditSink(run.audit::add)
        .addRevocationListener(revocations::onRevocation)
        .build();
  }

  private void printWorker() {
    con.blank();
    con.line("The connector worker runs as the vendor's role:");
    con.kv(
        "  KMS client",
        "AWS SDK KmsClient, static credentials of " + run.kms.vendor().arn().replaceAll(".*:", ""));
    con.kv("", "endpoint " + run.kms.endpoint() + ", region " + run.kms.region());
    con.kv(
        "  PanopsCrypto",
        "liveness probe every "
            + Console.ms(PROBE_INTERVAL)
            + ", a revoked key settles over "
            + Console.ms(SETTLE)
            + " before it is restored; audit events collected; revocations printed (>>)");
  }

  // ------------------------------------------------------------------------- 5. default interval

  /**
   * Step 5: the customer scenes at the library's default probe interval, which ran on their own
   * thread meanwhile: waits for them, prints what they saw, and records their expectations.
   */
  private void defaultIntervalScenes(Future<DefaultIntervalScenes.Outcome> scenes)
      throws Exception {
    con.step(5, "The same kill switches at the library's default probe interval (5 s)");
    DefaultIntervalScenes.Outcome o;
    try {
      o = scenes.get(90, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    }
    o.lines().forEach(con::raw);
    for (Map.Entry<String, Checks.Verdict> v : o.verdicts()) {
      run.checks.expect(v.getKey(), v.getValue());
    }
  }

  /** Waits for a probe to finish, then stops the library, so no KMS call is cut off mid-flight. */
  private void quiesceAndClose(PanopsCrypto crypto) throws InterruptedException {
    long probes = run.audit.stream().filter(a -> "probe".equals(a.purpose())).count();
    long deadline = System.nanoTime() + PROBE_INTERVAL.multipliedBy(3).toNanos();
    while (run.audit.stream().filter(a -> "probe".equals(a.purpose())).count() == probes
        && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    crypto.close();
  }

  private void printSummary(Duration total, Limits limits) {
    con.blank();
    con.raw("Summary");
    con.raw("-------");
    run.summary().forEach(con::kv);
    con.kv(
        "probe interval",
        Console.ms(PROBE_INTERVAL)
            + " (limits: refusal "
            + Console.ms(limits.refusal())
            + ", restore "
            + Console.ms(limits.restore())
            + ", derived above); "
            + Console.ms(DefaultIntervalScenes.SETTINGS.interval())
            + " in step 5");
    con.kv("expectations", run.checks.held() + " held, " + run.checks.failed().size() + " failed");
    con.kv("walkthrough time (servers up)", Console.ms(total));
  }
}
