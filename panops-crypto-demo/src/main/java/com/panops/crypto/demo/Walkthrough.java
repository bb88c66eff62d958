package com.panops.crypto.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.panops.crypto.AuditEvent;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.demo.MailCorpus.Attachment;
import com.panops.crypto.demo.MailCorpus.Message;
import com.panops.crypto.fleet.PostgresProbeCoordinator;
import com.panops.crypto.jdbc.BlindIndex;
import com.panops.crypto.jdbc.BlindIndexKeyStore;
import com.panops.crypto.jdbc.EncryptedColumn;
import com.panops.crypto.jdbc.PostgresDataKeyRegistry;
import com.panops.crypto.jdbc.SqlStates;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.s3.EncryptingS3Client;
import com.panops.crypto.s3.S3KeyRevokedException;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

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

  /** How long the walkthrough waits for something that should happen within the limit. */
  private static final Duration GIVE_UP = Duration.ofSeconds(8);

  /** How long the worker keeps trying while the key is disabled. */
  private static final Duration LATCHED_TRAFFIC = Duration.ofMillis(2500);

  static final int MESSAGES = 300;

  /** Concurrent S3 requests of the worker (uploads and read-back). */
  private static final int S3_THREADS = 4;

  private static final long SEED = 20250303L;
  private static final String BUCKET = "acme-corp-mail";
  private static final KeyContext MAIL = KeyContext.of("class", "mail");
  private static final KeyContext ATTACHMENTS = KeyContext.of("class", "mail-attachment");
  private static final String PROBE_PURPOSE = Checks.PROBE_PURPOSE;
  private static final byte[] FLEET_ATTESTATION_KEY = new byte[32];

  static {
    new java.security.SecureRandom().nextBytes(FLEET_ATTESTATION_KEY);
  }

  private static final String INSERT_MESSAGE =
      "INSERT INTO mail_message (id, tenant_id, received_at, sender, sender_bidx, recipients,"
          + " subject, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
  private static final String INSERT_ATTACHMENT =
      "INSERT INTO mail_attachment (id, message_id, tenant_id, ordinal, file_name, size_bytes,"
          + " s3_key) VALUES (?, ?, ?, ?, ?, ?, ?)";
  private static final String SELECT_MESSAGE =
      "SELECT id, sender, recipients, subject, body FROM mail_message"
          + " WHERE tenant_id = ? AND id = ?";

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

  private record Observed(RevocationEvent event, long nanos) {}

  /** When reads stopped (or resumed) after a customer action, and what they said. */
  private record Outcome(
      Duration db,
      Duration s3,
      SQLException dbError,
      S3KeyRevokedException s3Error,
      int served,
      Map<String, Duration> fleet) {
    Duration later() {
      if (db == null || s3 == null) {
        return null;
      }
      return db.compareTo(s3) >= 0 ? db : s3;
    }
  }

  private final Console con;
  private final Checks checks;
  private final LocalKms kms;
  private final DemoServers servers;
  private final MailCorpus corpus = MailCorpus.generate(TENANT, MESSAGES, SEED);
  private final Map<String, Message> byId = new HashMap<>();
  private final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
  private final List<Observed> events = new CopyOnWriteArrayList<>();
  private final Set<String> demoDirectRequestIds =
      java.util.Collections.newSetFromMap(new java.util.concurrent.ConcurrentHashMap<>());
  private final List<FleetWorker> fleet = new ArrayList<>();
  private final Map<String, Integer> expectedWindows = new HashMap<>();
  private final Map<String, String> keyNames = new HashMap<>();
  private final Map<String, String> summary = new LinkedHashMap<>();

  private String keyArn;
  private String secondKeyArn;
  private PanopsCrypto crypto;
  private PostgresProbeCoordinator coordinator;
  private volatile Instant fleetFrom;
  private volatile boolean fleetConverged;
  private long fleetProbeCount;
  private int latchedWindowCount;
  private Limits limits;
  private Connection worker;
  private PreparedStatement selectMessage;
  private EncryptedColumn senderCol;
  private EncryptedColumn recipientsCol;
  private EncryptedColumn subjectCol;
  private EncryptedColumn bodyCol;
  private EncryptedColumn fileNameCol;
  private BlindIndex senderIdx;
  private S3Client rawS3;
  private EncryptingS3Client s3;
  private Attachment smallest;
  private long ingestDataCalls;
  private long ingestValues;
  private ExecutorService pool;

  private Walkthrough(Console con, Checks checks, DemoServers servers) {
    this.con = con;
    this.checks = checks;
    this.servers = servers;
    this.kms = servers.kms;
    for (Message m : corpus.messages()) {
      byId.put(m.id(), m);
    }
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
    pool =
        Executors.newFixedThreadPool(
            S3_THREADS,
            r -> {
              Thread t = new Thread(r, "demo-worker-s3");
              t.setDaemon(true);
              return t;
            });
    try {
      return walk(t0);
    } finally {
      pool.shutdownNow();
    }
  }

  private Result walk(long t0) throws Exception {
    createKey();
    ExecutorService side =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "demo-default-interval-scenes");
              t.setDaemon(true);
              return t;
            });
    try (KmsClient vendorKms = vendorKmsClient();
        KmsClient scenesKms = vendorKmsClient(sessionOf("worker-defaults"));
        S3Client raw = s3Client();
        S3Client forEncryption = s3Client()) {
      // the library's default probe settings, three more customers: on its own thread meanwhile
      DefaultIntervalScenes scenes =
          new DefaultIntervalScenes(kms, scenesKms, audit::add, this::kmsRoundTrip);
      scenes.keyArns().forEach(k -> expectedWindows.put(k, 1));
      keyNames.putAll(scenes.keyNames());
      keyNames.put(keyArn, TENANT);
      keyNames.put(secondKeyArn, SECOND_TENANT);
      Future<DefaultIntervalScenes.Outcome> scenesRun = side.submit(scenes::run);
      TlsEnforcingDataSource ds = dataSource();
      PostgresProbeCoordinator.createTables(ds);
      // compact values: each data key's wrapped key once in panops_data_keys, beside the values
      PostgresDataKeyRegistry registry = PostgresDataKeyRegistry.on(ds);
      registry.createTableIfMissing();
      this.coordinator = coordinator(ds, "worker-1");
      try (PanopsCrypto c = workerCrypto(vendorKms, coordinator, registry)) {
        this.crypto = c;
        this.rawS3 = raw;
        printWorkerSetup(ds);
        try (Connection conn = ds.getConnection();
            EncryptingS3Client enc =
                EncryptingS3Client.builder()
                    .s3Client(forEncryption)
                    .crypto(c)
                    .tenant(TENANT)
                    .keyContext(ATTACHMENTS)
                    .sseKms(false)
                    .allowInsecureLocalS3Endpoint()
                    .build()) {
          this.worker = conn;
          this.s3 = enc;
          this.selectMessage = conn.prepareStatement(SELECT_MESSAGE);
          ingest(ds);
          int[] verified = readBack(3, "Read everything back and verify it; find one sender");
          Outcome[] offOn = killSwitch();
          closeFleet();
          defaultIntervalScenes(scenesRun);
          quiesceAndClose();
          Reconciliation.Summary rec = reconcile();
          long latchedDataCalls = dataCallsWhileLatched();
          Duration total = Duration.ofNanos(System.nanoTime() - t0);
          printSummary(total);
          return new Result(
              checks.held(),
              verified[0],
              verified[1],
              ingestDataCalls,
              ingestValues,
              offOn[0].db(),
              offOn[0].s3(),
              offOn[1].later(),
              limits.refusal(),
              limits.restore(),
              latchedDataCalls,
              latchedWindowCount,
              fleetProbeCount,
              2,
              rec.auditEvents(),
              rec.auditMatched(),
              rec.vendorTrailWithoutAudit(),
              rec.reconciled(),
              total);
        }
      } finally {
        closeFleet();
      }
    } finally {
      side.shutdownNow();
    }
  }

  // ------------------------------------------------------------------------- 1. the key

  private void createKey() throws Exception {
    con.step(1, "The customer creates its KMS key, with the vendor's narrow key policy");
    long t = System.nanoTime();
    keyArn = kms.createKey("acme-corp: PanOps mail archive");
    con.kv("customer account", kms.accountId() + " (region " + kms.region() + ")");
    con.kv("key (customer-managed, symmetric)", keyArn);
    con.kv("created by", kms.admin().arn() + "  " + Console.since(t));
    // the policy as KMS holds it for this key (GetKeyPolicy as the customer's admin)
    String policyText;
    try (KmsClient admin = kmsClientFor(kms.admin())) {
      policyText = admin.getKeyPolicy(r -> r.keyId(keyArn).policyName("default")).policy();
    }
    for (JsonNode st : new ObjectMapper().readTree(policyText).get("Statement")) {
      if (kms.vendor().roleArn().equals(Checks.principalOf(st))) {
        con.line(
            "Key policy statement \""
                + st.path("Sid").asText()
                + "\" (read back with GetKeyPolicy):");
        con.kv("  Effect / Principal", st.get("Effect").asText() + " / " + Checks.principalOf(st));
        con.kv("  Action", st.get("Action").toString());
      }
    }
    checks.expect(
        "the key's policy (GetKeyPolicy) gives the vendor role the five cryptographic operations"
            + " only",
        Checks.vendorPolicyFiveOnly(policyText, kms.vendor().roleArn()));
    // and KMS enforces it: the vendor tries the customer's key actions, each is refused
    Map<String, String> tried = new java.util.LinkedHashMap<>();
    try (KmsClient vendor = vendorKmsClient()) {
      tried.put("DisableKey", refusal(() -> vendor.disableKey(r -> r.keyId(keyArn))));
      tried.put(
          "ScheduleKeyDeletion",
          refusal(() -> vendor.scheduleKeyDeletion(r -> r.keyId(keyArn).pendingWindowInDays(7))));
      tried.put(
          "PutKeyPolicy",
          refusal(
              () ->
                  vendor.putKeyPolicy(
                      r -> r.keyId(keyArn).policyName("default").policy(policyText))));
      tried.put(
          "CreateGrant",
          refusal(
              () ->
                  vendor.createGrant(
                      r ->
                          r.keyId(keyArn)
                              .granteePrincipal(kms.vendor().roleArn())
                              .operations(
                                  software.amazon.awssdk.services.kms.model.GrantOperation
                                      .DECRYPT))));
    }
    con.kv("  the vendor tries", tried.toString());
    checks.expect(
        "the vendor's DisableKey, ScheduleKeyDeletion, PutKeyPolicy and CreateGrant are each refused",
        Checks.allRefused(
            tried, List.of("DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant")));
    secondKeyArn = kms.createKey(SECOND_TENANT + ": PanOps mail archive (EU mailboxes)");
    con.kv("the customer's second key (EU mailboxes)", secondKeyArn);
    expectedWindows.put(keyArn, 2);
  }

  /** Runs a vendor call the demo makes outside the library; its KMS error code, or "accepted". */
  private String refusal(Runnable call) {
    try {
      call.run();
      return "accepted";
    } catch (AwsServiceException e) {
      demoDirectRequestIds.add(e.requestId());
      return e.awsErrorDetails() == null
          ? "HTTP" + e.statusCode()
          : e.awsErrorDetails().errorCode();
    }
  }

  private KmsClient kmsClientFor(com.panops.crypto.testkit.Principal who) {
    return KmsClient.builder()
        .endpointOverride(kms.endpoint())
        .region(Region.of(kms.region()))
        .credentialsProvider(who.credentialsProvider())
        .overrideConfiguration(o -> o.apiCallTimeout(Duration.ofSeconds(20)))
        .build();
  }

  /** Another assumed-role session of the vendor's role, e.g. for another worker. */
  private com.panops.crypto.testkit.Principal sessionOf(String name) {
    String arn = kms.vendor().arn();
    return kms.addPrincipal(arn.substring(0, arn.lastIndexOf('/') + 1) + name);
  }

  private KmsClient vendorKmsClient() {
    return vendorKmsClient(kms.vendor());
  }

  private KmsClient vendorKmsClient(com.panops.crypto.testkit.Principal session) {
    return KmsClient.builder()
        .endpointOverride(kms.endpoint())
        .region(Region.of(kms.region()))
        .credentialsProvider(session.credentialsProvider())
        // the SDK's default retries: the audit has one event per attempt, so each CloudTrail
        // record still has its audit event
        .overrideConfiguration(o -> o.apiCallTimeout(Duration.ofSeconds(20)))
        .build();
  }

  private static ProbeSettings probeSettings() {
    return ProbeSettings.every(PROBE_INTERVAL).withSettle(3, SETTLE);
  }

  private TenantDirectory directory() {
    return TenantDirectory.of(
        Map.of(TENANT, TenantKeys.of(keyArn), SECOND_TENANT, TenantKeys.of(secondKeyArn)));
  }

  private static PostgresProbeCoordinator coordinator(TlsEnforcingDataSource ds, String name) {
    return PostgresProbeCoordinator.builder()
        .dataSource(ds)
        .attestationKey(FLEET_ATTESTATION_KEY)
        .memberId(name)
        .build();
  }

  private PanopsCrypto workerCrypto(
      KmsClient vendorKms, PostgresProbeCoordinator c, PostgresDataKeyRegistry registry) {
    return PanopsCrypto.builder()
        .kmsClient(vendorKms)
        .tenantDirectory(directory())
        .dataKeyRegistry(registry) // EncryptedColumns default to compact values
        .allowInsecureLocalKmsEndpoint() // LocalKms speaks plain HTTP on 127.0.0.1
        .probeSettings(probeSettings())
        .probeCoordinator(c)
        .auditSink(audit::add)
        .addRevocationListener(this::onRevocation)
        .build();
  }

  /** Another worker instance: its own KmsClient (its own session), coordinator and PanopsCrypto. */
  private final class FleetWorker implements AutoCloseable {
    final String name;
    final KmsClient client;
    final PostgresProbeCoordinator coordinator;
    final PanopsCrypto crypto;
    final byte[] ciphertext;

    FleetWorker(String name, TlsEnforcingDataSource ds) {
      this.name = name;
      this.client = vendorKmsClient(sessionOf(name));
      this.coordinator = Walkthrough.coordinator(ds, name);
      this.crypto =
          PanopsCrypto.builder()
              .kmsClient(client)
              .tenantDirectory(directory())
              .allowInsecureLocalKmsEndpoint()
              .probeSettings(probeSettings())
              .probeCoordinator(coordinator)
              .auditSink(audit::add)
              .build();
      // it serves both keys too (and so records its interest in them)
      crypto.tenant(SECOND_TENANT).encrypt(FLEET_VALUE, MAIL, aad(name));
      this.ciphertext = crypto.tenant(TENANT).encrypt(FLEET_VALUE, MAIL, aad(name));
      crypto.tenant(TENANT).decrypt(ciphertext, MAIL, aad(name));
    }

    /** Decrypts its warm value: null if served, else the reason it was refused. */
    RevocationReason refusal() {
      try {
        crypto.tenant(TENANT).decrypt(ciphertext, MAIL, aad(name));
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

  private static final byte[] FLEET_VALUE =
      "a value the worker keeps".getBytes(StandardCharsets.UTF_8);

  private static com.panops.crypto.MessageAad aad(String worker) {
    return com.panops.crypto.MessageAad.of("worker", worker);
  }

  private void closeFleet() {
    for (FleetWorker w : fleet) {
      w.close();
    }
    fleet.clear();
  }

  private void onRevocation(RevocationEvent e) {
    events.add(new Observed(e, System.nanoTime()));
    con.line(
        ">> RevocationListener: key "
            + e.kind()
            + (e.reason() == null
                ? ""
                : ", reason " + e.reason() + " (KMS answered " + e.errorCode() + ")")
            + "   ["
            + con.clock()
            + "]");
  }

  private void printWorkerSetup(TlsEnforcingDataSource ds) {
    con.blank();
    con.line("The connector worker runs as the vendor's role:");
    con.kv(
        "  KMS client",
        "AWS SDK KmsClient, static credentials of " + kms.vendor().arn().replaceAll(".*:", ""));
    con.kv("", "endpoint " + kms.endpoint() + ", region " + kms.region());
    con.kv(
        "  PanopsCrypto",
        "liveness probe every "
            + Console.ms(PROBE_INTERVAL)
            + ", a revoked key settles over "
            + Console.ms(SETTLE)
            + " before it is restored; audit events collected; revocations printed (>>)");
    // the fleet: more instances of the worker, coordinated through the demo's PostgreSQL
    crypto.tenant(SECOND_TENANT).encrypt(FLEET_VALUE, MAIL, aad("worker-1"));
    for (int i = 2; i <= FLEET_WORKERS; i++) {
      fleet.add(new FleetWorker("worker-" + i, ds));
    }
    con.kv(
        "  a fleet of " + FLEET_WORKERS + " worker instances",
        "worker-1 (this one: PostgreSQL, S3) and worker-2.."
            + FLEET_WORKERS
            + ": separate PanopsCrypto instances in this JVM,");
    con.kv(
        "",
        "each with its own KmsClient (its own assumed-role session) and PostgresProbeCoordinator");
    con.kv(
        "",
        "(verify-full TLS to the demo's PostgreSQL, one LISTEN connection each); all serve "
            + TENANT
            + " and "
            + SECOND_TENANT);
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
    all.add(coordinator);
    fleet.forEach(w -> all.add(w.coordinator));
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      boolean ok = true;
      for (String arn : List.of(keyArn, secondKeyArn)) {
        ok &= all.stream().filter(c -> c.assigned(arn)).count() == 1;
      }
      if (ok) {
        // let probes scheduled before the agreement drain
        fleetConverged = true;
        fleetFrom = Instant.now().plus(PROBE_INTERVAL);
        return;
      }
      Thread.sleep(20);
    }
    fleetFrom = Instant.now(); // no agreement: count anyway, the check shows what that costs
  }

  /**
   * Counts the probe Decrypts of the fleet's keys in the customer's trail over {@value
   * #FLEET_INTERVALS} intervals after the workers agreed who probes what (waiting out the rest).
   */
  private long fleetProbes() throws InterruptedException {
    con.blank();
    con.line(
        "The fleet's probes in the customer's CloudTrail ("
            + FLEET_WORKERS
            + " workers, K = 2 keys, "
            + FLEET_INTERVALS
            + " intervals of "
            + Console.ms(PROBE_INTERVAL)
            + "):");
    long deadline = System.nanoTime() + Duration.ofSeconds(25).toNanos();
    while (fleetFrom == null && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    Instant from = fleetFrom;
    long counted = -1;
    if (from != null) {
      Instant to = from.plus(PROBE_INTERVAL.multipliedBy(FLEET_INTERVALS));
      long wait = Duration.between(Instant.now(), to).toMillis() + 200;
      if (wait > 0) {
        Thread.sleep(wait);
      }
      counted = Checks.probeDecrypts(kms.trail(), Set.of(keyArn, secondKeyArn), from, to);
      Map<String, Long> bySession = new TreeMap<>();
      for (TrailEvent e : kms.trail()) {
        if (isProbe(e)
            && Set.of(keyArn, secondKeyArn).contains(e.keyId())
            && !e.eventTime().isBefore(from)
            && e.eventTime().isBefore(to)) {
          bySession.merge(e.userArn().replaceAll(".*/", ""), 1L, Long::sum);
        }
      }
      con.kv(
          "  the workers agreed who probes which key",
          fleetConverged ? "yes, counted from an interval after" : "NO (within 10 s)");
      con.kv("  probe Decrypts by worker session", bySession.toString());
    }
    checks.expect(
        "coordinated, the customer's CloudTrail gets about one probe per key per interval, not one"
            + " per worker",
        Checks.fleetProbes(counted, 2, FLEET_INTERVALS, FLEET_WORKERS));
    summaryLine(
        "fleet probes (" + FLEET_WORKERS + " workers, 2 keys, " + FLEET_INTERVALS + " intervals)",
        counted + " (standalone: " + FLEET_WORKERS * 2 * FLEET_INTERVALS + ")");
    return counted;
  }

  // ------------------------------------------------------------------------- 2. ingest

  private TlsEnforcingDataSource dataSource() throws SQLException {
    PGSimpleDataSource pg = new PGSimpleDataSource();
    pg.setUrl(servers.postgres.jdbcUrl("postgres")); // sslmode=verify-full&sslrootcert=<CA file>
    pg.setUser(servers.postgres.user());
    return TlsEnforcingDataSource.requireVerifyFull(pg);
  }

  private void ingest(DataSource ds) throws Exception {
    con.step(2, "The worker ingests " + MESSAGES + " mail messages into PostgreSQL and S3");
    List<Attachment> attachments = corpus.attachments();
    con.kv(
        "synthetic mailbox",
        Console.count(MESSAGES)
            + " messages, 1 to 4 recipients each, "
            + Console.count(attachments.size())
            + " attachments of 5 KiB to 200 KiB ("
            + Console.bytes(corpus.attachmentBytes())
            + ")");

    // TLS to PostgreSQL: verified, and enforced
    try (Statement s = worker.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
      rs.next();
      con.kv(
          "PostgreSQL connection",
          "sslmode=verify-full (CA "
              + servers.postgres.caCertificateFile().getFileName()
              + "), "
              + rs.getString(2)
              + " "
              + rs.getString(3));
      checks.expect(
          "the database session is TLS (pg_stat_ssl), verify-full against the server's CA",
          Checks.tlsSession(rs.getBoolean(1), rs.getString(2), rs.getString(3)));
    }
    tlsRefusals();
    try (Statement s = worker.createStatement()) {
      s.execute(
          "CREATE TABLE mail_message (id uuid PRIMARY KEY, tenant_id text NOT NULL,"
              + " received_at timestamptz NOT NULL, sender bytea NOT NULL,"
              + " sender_bidx bytea NOT NULL, recipients bytea NOT NULL,"
              + " subject bytea NOT NULL, body bytea NOT NULL)");
      s.execute("CREATE INDEX mail_message_sender ON mail_message (tenant_id, sender_bidx)");
      s.execute(
          "CREATE TABLE mail_attachment (id uuid PRIMARY KEY,"
              + " message_id uuid NOT NULL REFERENCES mail_message (id),"
              + " tenant_id text NOT NULL, ordinal int NOT NULL, file_name bytea NOT NULL,"
              + " size_bytes int NOT NULL, s3_key text NOT NULL)");
    }
    BlindIndexKeyStore keyStore = BlindIndexKeyStore.on(ds);
    keyStore.createTableIfMissing();
    TenantCrypto tenant = crypto.tenant(TENANT);
    senderCol = column(tenant, "mail_message", "sender");
    recipientsCol = column(tenant, "mail_message", "recipients");
    subjectCol = column(tenant, "mail_message", "subject");
    bodyCol = column(tenant, "mail_message", "body");
    // one column kept in version 1 (self-describing values), to show the overhead side by side
    fileNameCol =
        EncryptedColumn.builder(tenant)
            .table("mail_attachment")
            .column("file_name")
            .keyContext(MAIL)
            .compact(false)
            .build();
    senderIdx =
        BlindIndex.builder(tenant, keyStore)
            .table("mail_message")
            .column("sender")
            .normalizer(BlindIndex.Normalizer.caseInsensitive())
            .build();
    con.kv(
        "table mail_message",
        "sender, recipients, subject, body: encrypted (bytea); sender_bidx: blind index");
    con.kv("table mail_attachment", "file_name encrypted; the bytes go to S3 under opaque keys");
    con.kv(
        "key context (sent to KMS, in CloudTrail)",
        MAIL.asMap() + " for rows, " + ATTACHMENTS.asMap() + " for S3, + panops:tenant");
    con.kv(
        "message AAD (never sent to KMS)",
        "tenant+table+column+row id, or bucket+object key: binds each value to its place");
    con.kv(
        "S3 server-side encryption",
        "off: S3Mock cannot check SSE-KMS under a customer key ARN (the S3 adapter's ITs do)");

    int mark = kms.trail().size();
    long t = System.nanoTime();
    rawS3.createBucket(r -> r.bucket(BUCKET));
    long s3Start = System.nanoTime();
    inParallel(
        attachments,
        a ->
            s3.putObject(
                r -> r.bucket(BUCKET).key(a.objectKey(TENANT)).contentType(a.contentType()),
                RequestBody.fromBytes(a.content())));
    for (Attachment a : attachments) {
      if (smallest == null || a.size() < smallest.size()) {
        smallest = a;
      }
    }
    long s3Nanos = System.nanoTime() - s3Start;
    con.kv(
        "S3: attachments encrypted and stored",
        Console.count(attachments.size())
            + " objects, "
            + Console.bytes(corpus.attachmentBytes())
            + " in "
            + Console.ms(s3Nanos)
            + " ("
            + S3_THREADS
            + " uploads at a time)");

    long dbStart = System.nanoTime();
    worker.setAutoCommit(false);
    try (PreparedStatement pm = worker.prepareStatement(INSERT_MESSAGE);
        PreparedStatement pa = worker.prepareStatement(INSERT_ATTACHMENT)) {
      for (Message m : corpus.messages()) {
        bindMessage(pm, m);
        pm.addBatch();
        for (int i = 0; i < m.attachments().size(); i++) {
          Attachment a = m.attachments().get(i);
          pa.setObject(1, UUID.fromString(a.id()));
          pa.setObject(2, UUID.fromString(m.id()));
          pa.setString(3, TENANT);
          pa.setInt(4, i);
          fileNameCol.bind(pa, 5, a.fileName(), a.id());
          pa.setInt(6, a.size());
          pa.setString(7, a.objectKey(TENANT));
          pa.addBatch();
        }
      }
      pm.executeBatch();
      pa.executeBatch();
      worker.commit();
    } catch (SQLException | RuntimeException e) {
      worker.rollback();
      throw e;
    } finally {
      worker.setAutoCommit(true);
    }
    long dbNanos = System.nanoTime() - dbStart;
    con.kv(
        "PostgreSQL: batch inserts, one transaction",
        Console.count(MESSAGES)
            + " messages + "
            + Console.count(attachments.size())
            + " attachment rows in "
            + Console.ms(dbNanos));

    List<TrailEvent> during = vendorTrail(kms.trail().subList(mark, kms.trail().size()));
    long dataCalls = during.stream().filter(e -> !isProbe(e)).count();
    long probeCalls = during.size() - dataCalls;
    long values = 4L * MESSAGES + MESSAGES + attachments.size() * 2L;
    con.kv("ingest took", Console.since(t));
    con.kv(
        "values encrypted",
        Console.count(values)
            + " ("
            + 4 * MESSAGES
            + " message columns, "
            + MESSAGES
            + " blind-index values, "
            + attachments.size()
            + " file names, "
            + attachments.size()
            + " S3 objects)");
    con.kv(
        "KMS calls meanwhile (customer's CloudTrail)",
        dataCalls + " for data keys " + byOperation(during, e -> !isProbe(e)));
    con.kv(
        "",
        "+ " + probeCalls + " by the liveness probe " + byOperation(during, Walkthrough::isProbe));
    checks.expect(
        "KMS is called per cached data key, not per record",
        Checks.kmsPerDataKey(dataCalls, values, 6));
    ingestDataCalls = dataCalls;
    ingestValues = values;
    summaryLine(
        "ingested",
        MESSAGES
            + " messages, "
            + attachments.size()
            + " attachments ("
            + Console.bytes(corpus.attachmentBytes())
            + ") in "
            + Console.since(t));
    summaryLine(
        "KMS calls for that",
        dataCalls
            + " for data keys (+"
            + probeCalls
            + " probe) for "
            + Console.count(values)
            + " values");
    atRest();
  }

  /**
   * The certificate check is real: a session trusting another root CA and a session to an address
   * the certificate does not name are both refused; TLS without verification is refused before
   * connecting.
   */
  private void tlsRefusals() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("panops-demo-tls-");
    try {
      java.nio.file.Path otherCa = DemoTls.otherRootCa(dir);
      DemoTls.Attempt wrongCa =
          DemoTls.attempt(DemoTls.verifyFull(servers.postgres, "localhost", otherCa));
      con.kv("  verify-full trusting another root CA", wrongCa.toString());
      checks.expect(
          "a session trusting another root CA is refused in the TLS handshake",
          Checks.wrongCaRefused(wrongCa));
      java.nio.file.Path ca = servers.postgres.caCertificateFile();
      DemoTls.Attempt wrongHost =
          DemoTls.attempt(DemoTls.verifyFull(servers.postgres, DemoTls.OTHER_LOOPBACK, ca));
      DemoTls.Attempt unchecked =
          DemoTls.attempt(DemoTls.verifyCaOnly(servers.postgres, DemoTls.OTHER_LOOPBACK, ca));
      con.kv(
          "  verify-full to " + DemoTls.OTHER_LOOPBACK + " (not in the certificate)",
          wrongHost + "; verify-ca (no name check): " + unchecked);
      checks.expect(
          "a session to an address the certificate does not name is refused (host-name check)",
          Checks.wrongHostRefused(wrongHost, unchecked));
      try (var files = java.nio.file.Files.list(dir)) {
        for (java.nio.file.Path f : files.toList()) {
          java.nio.file.Files.delete(f);
        }
      }
    } finally {
      java.nio.file.Files.deleteIfExists(dir);
    }
    PGSimpleDataSource weak = new PGSimpleDataSource();
    weak.setUrl(servers.postgres.jdbcUrlWithoutTls("postgres") + "?sslmode=require");
    weak.setUser(servers.postgres.user());
    String state = null;
    try (Connection c = TlsEnforcingDataSource.requireVerifyFull(weak).getConnection()) {
      state = "connected";
    } catch (SQLException e) {
      state = e.getSQLState();
    }
    checks.expect(
        "TlsEnforcingDataSource refuses sslmode=require (no certificate check)",
        Checks.insecureModeRefused(state));
  }

  private static EncryptedColumn column(TenantCrypto tenant, String table, String column) {
    return EncryptedColumn.builder(tenant).table(table).column(column).keyContext(MAIL).build();
  }

  private void bindMessage(PreparedStatement ps, Message m) throws SQLException {
    ps.setObject(1, UUID.fromString(m.id()));
    ps.setString(2, TENANT);
    ps.setObject(3, OffsetDateTime.ofInstant(m.receivedAt(), ZoneOffset.UTC));
    senderCol.bind(ps, 4, m.sender(), m.id());
    senderIdx.bind(ps, 5, m.sender());
    recipientsCol.bind(ps, 6, String.join(", ", m.recipients()), m.id());
    subjectCol.bind(ps, 7, m.subject(), m.id());
    bodyCol.bind(ps, 8, m.body(), m.id());
  }

  /** What someone with access to the database or the bucket sees. */
  private void atRest() throws SQLException {
    int rows = 0;
    int leaks = 0;
    long stored = 0;
    long plain = 0;
    int compactMax = 0;
    try (Statement s = worker.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT id, sender, recipients, subject, body FROM mail_message")) {
      while (rs.next()) {
        Message m = byId.get(rs.getString(1));
        rows++;
        String[] plaintexts = {
          m.sender(), String.join(", ", m.recipients()), m.subject(), m.body()
        };
        for (int i = 0; i < plaintexts.length; i++) {
          byte[] raw = rs.getBytes(i + 2);
          byte[] p = plaintexts[i].getBytes(StandardCharsets.UTF_8);
          stored += raw.length;
          plain += p.length;
          compactMax = Math.max(compactMax, raw.length - p.length);
          if (Checks.indexOf(raw, Arrays.copyOf(p, Math.min(p.length, 24))) >= 0) {
            leaks++;
          }
        }
      }
    }
    Map<String, String> fileNames = new HashMap<>();
    corpus.attachments().forEach(a -> fileNames.put(a.id(), a.fileName()));
    int v1Values = 0;
    long v1Overhead = 0;
    try (Statement s = worker.createStatement();
        ResultSet rs = s.executeQuery("SELECT id, file_name FROM mail_attachment")) {
      while (rs.next()) {
        v1Values++;
        v1Overhead +=
            rs.getBytes(2).length
                - fileNames.get(rs.getString(1)).getBytes(StandardCharsets.UTF_8).length;
      }
    }
    int objects = 0;
    int objectLeaks = 0;
    int marked = 0;
    List<Attachment> sample = corpus.attachments().subList(0, 10);
    for (Attachment a : sample) {
      var got = rawS3.getObjectAsBytes(r -> r.bucket(BUCKET).key(a.objectKey(TENANT)));
      byte[] raw = got.asByteArray();
      byte[] content = a.content();
      objects++;
      if (Checks.indexOf(raw, Arrays.copyOf(content, 64)) >= 0) {
        objectLeaks++;
      }
      if ("1".equals(got.response().metadata().get("panops-format"))) {
        marked++;
      }
    }
    con.blank();
    con.line("What the database administrator and the bucket's readers see:");
    con.kv(
        "  mail_message, 4 encrypted columns",
        Console.bytes(stored)
            + " of ciphertext for "
            + Console.bytes(plain)
            + " of text (header, tag and per-value overhead)");
    long compactValues = rows * 4L;
    con.kv(
        "  overhead per value",
        String.format(
            "compact (mail_message): %.1f bytes on average, %d at most; version 1"
                + " (mail_attachment.file_name, .compact(false)): %.1f bytes",
            compactValues == 0 ? 0.0 : (double) (stored - plain) / compactValues,
            compactMax,
            v1Values == 0 ? 0.0 : (double) v1Overhead / v1Values));
    checks.expect(
        "compact values cost at most 40 bytes each (version 1 carries the wrapped key in each)",
        Checks.compactOverhead(compactValues, compactMax, v1Values, v1Overhead));
    checks.expect(
        "no plaintext in the database's encrypted columns",
        Checks.noPlaintext(rows, MESSAGES, rows * 4, leaks));
    checks.expect(
        "S3 objects hold panops messages, not the attachments' bytes",
        Checks.objectsSealed(objects, objectLeaks, marked));
  }

  // ------------------------------------------------------------------------- 3. read back

  /** Reads every message and attachment back and compares; returns {messages, attachments}. */
  private int[] readBack(int step, String title) throws Exception {
    if (step > 0) {
      con.step(step, title);
    }
    int mark = kms.trail().size();
    long t = System.nanoTime();
    int ok = 0;
    int bad = 0;
    try (PreparedStatement ps =
        worker.prepareStatement(
            "SELECT id, sender, recipients, subject, body FROM mail_message WHERE tenant_id = ?")) {
      ps.setString(1, TENANT);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (matches(rs)) {
            ok++;
          } else {
            bad++;
          }
        }
      }
    }
    long dbNanos = System.nanoTime() - t;
    long t2 = System.nanoTime();
    int aOk = 0;
    int aBad = 0;
    Map<String, Attachment> attachmentsById = new HashMap<>();
    for (Attachment a : corpus.attachments()) {
      attachmentsById.put(a.id(), a);
    }
    List<Attachment> rows = new ArrayList<>();
    try (PreparedStatement ps =
        worker.prepareStatement(
            "SELECT id, file_name, size_bytes, s3_key FROM mail_attachment WHERE tenant_id = ?")) {
      ps.setString(1, TENANT);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String id = rs.getString(1);
          Attachment a = attachmentsById.get(id);
          if (a != null
              && a.fileName().equals(fileNameCol.getString(rs, 2, id))
              && a.size() == rs.getInt(3)
              && a.objectKey(TENANT).equals(rs.getString(4))) {
            rows.add(a);
          } else {
            aBad++;
          }
        }
      }
    }
    AtomicLong bytes = new AtomicLong();
    AtomicInteger same = new AtomicInteger();
    inParallel(
        rows,
        a -> {
          byte[] content =
              s3.getObjectAsBytes(r -> r.bucket(BUCKET).key(a.objectKey(TENANT))).asByteArray();
          bytes.addAndGet(content.length);
          if (MailCorpus.sha256(content).equals(MailCorpus.sha256(a.content()))) {
            same.incrementAndGet();
          }
        });
    aOk = same.get();
    aBad += rows.size() - aOk;
    long s3Nanos = System.nanoTime() - t2;
    List<TrailEvent> during = vendorTrail(kms.trail().subList(mark, kms.trail().size()));
    long dataCalls = during.stream().filter(e -> !isProbe(e)).count();
    con.kv(
        "  messages decrypted and compared",
        ok + " of " + MESSAGES + " identical, " + bad + " different, in " + Console.ms(dbNanos));
    con.kv(
        "  attachments fetched, decrypted, compared",
        aOk
            + " of "
            + corpus.attachments().size()
            + " identical (SHA-256), "
            + Console.bytes(bytes.get())
            + " in "
            + Console.ms(s3Nanos));
    con.kv(
        "  KMS calls for data keys meanwhile",
        dataCalls == 0
            ? "0: every data key came from the cache"
            : dataCalls + " " + byOperation(during, e -> !isProbe(e)));
    checks.expect(
        "every message and attachment reads back exactly as written",
        Checks.readBack(ok, bad, MESSAGES, aOk, aBad, corpus.attachments().size()));
    if (step > 0) {
      lookUpSender();
    }
    return new int[] {ok, aOk};
  }

  private boolean matches(ResultSet rs) throws SQLException {
    String id = rs.getString("id");
    Message m = byId.get(id);
    return m != null
        && m.sender().equals(senderCol.getString(rs, "sender", id))
        && String.join(", ", m.recipients()).equals(recipientsCol.getString(rs, "recipients", id))
        && m.subject().equals(subjectCol.getString(rs, "subject", id))
        && m.body().equals(bodyCol.getString(rs, "body", id));
  }

  private void lookUpSender() throws SQLException {
    String sender = corpus.busiestSender();
    // typed differently from how it is stored: the index normalises case
    String typed =
        Character.toUpperCase(sender.charAt(0))
            + sender.substring(1, sender.indexOf('@'))
            + sender.substring(sender.indexOf('@')).toUpperCase(Locale.ROOT);
    Set<String> expected = corpus.messagesFrom(sender);
    long t = System.nanoTime();
    Set<String> found = new LinkedHashSet<>();
    String example = null;
    boolean sendersMatch = true;
    try (PreparedStatement ps =
        worker.prepareStatement(
            "SELECT id, sender, subject FROM mail_message WHERE tenant_id = ? AND sender_bidx = ?"
                + " ORDER BY received_at")) {
      ps.setString(1, TENANT);
      senderIdx.bind(ps, 2, typed);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String id = rs.getString(1);
          found.add(id);
          sendersMatch &= senderCol.getString(rs, 2, id).equalsIgnoreCase(sender);
          if (example == null) {
            example = subjectCol.getString(rs, 3, id);
          }
        }
      }
    }
    con.blank();
    con.line("Find every message from one sender, through the blind index (one SQL query):");
    con.kv("  searched for", "\"" + typed + "\" (case differs from the stored value)");
    con.kv(
        "  found",
        found.size() + " messages in " + Console.since(t) + ", e.g. subject \"" + example + "\"");
    checks.expect(
        "the blind-index lookup returns exactly that sender's messages",
        Checks.lookup(found, expected, sendersMatch));
  }

  // ------------------------------------------------------------------------- 4. kill switch

  /** Returns the outcomes of the first DisableKey and the first EnableKey. */
  private Outcome[] killSwitch() throws Exception {
    con.step(4, "The customer pulls the kill switch (acting only in its own AWS account)");
    fleetProbeCount = fleetProbes();
    limits = measureLimits();
    Duration limit = limits.refusal();
    Duration restoreLimit = limits.restore();
    con.blank();
    con.line("Every data key is cached now: the worker could keep reading without asking KMS.");
    con.line("What notices the customer's action is the liveness probe, a canary Decrypt through");
    con.line(
        "KMS every "
            + Console.ms(PROBE_INTERVAL)
            + " (by one worker of the fleet, which tells the others through PostgreSQL).");
    con.line("The limits follow from the probe settings and round trips measured just now:");
    for (String l : limits.derivation()) {
      con.line("  " + l);
    }

    // warm: prove that reads are currently served without KMS
    int warmMark = kms.trail().size();
    for (int i = 0; i < 20; i++) {
      readRow(corpus.messages().get(i).id());
      getObject(smallest);
    }
    long warmCalls =
        vendorTrail(kms.trail().subList(warmMark, kms.trail().size())).stream()
            .filter(e -> !isProbe(e))
            .count();
    con.kv("warm cache: 20 reads (DB row + S3 object)", warmCalls + " KMS calls for data keys");

    // 4a. disable
    con.blank();
    con.line("4a. DisableKey");
    long disabledAt = System.nanoTime();
    kms.disableKey(keyArn);
    con.kv("  key disabled", "[" + con.clock() + "]");
    Outcome off = awaitRefused(disabledAt, GIVE_UP);
    Observed revoked = firstEvent(RevocationEvent.Kind.REVOKED, disabledAt);
    reportRefusal(off, revoked, disabledAt, RevocationReason.DISABLED, limit);
    Map<String, String> others = new TreeMap<>();
    off.fleet().forEach((w, d) -> others.put(w, fmt(d)));
    con.kv("  the other workers' first refused decrypt", others.toString());
    checks.expect(
        "every worker of the fleet refuses the disabled key within the limit",
        Checks.everyWorkerRefused(allRefusals(off), FLEET_WORKERS, limit));
    summaryLine(
        "disable -> reads refused",
        "DB " + fmt(off.db()) + ", S3 " + fmt(off.s3()) + " (limit " + Console.ms(limit) + ")");

    latchedTraffic(revoked);

    // the vendor cannot undo it
    String code;
    try {
      try (KmsClient vendor = vendorKmsClient()) {
        vendor.enableKey(r -> r.keyId(keyArn));
      }
      code = "accepted";
    } catch (AwsServiceException e) {
      code = e.awsErrorDetails().errorCode();
      demoDirectRequestIds.add(e.requestId());
    }
    checks.expect(
        "the vendor role cannot re-enable the key itself",
        Checks.refusedAs(code, "AccessDeniedException", "EnableKey as the vendor"));

    // 4b. enable
    con.blank();
    con.line("4b. EnableKey (the customer changes its mind)");
    long enabledAt = System.nanoTime();
    int mark = kms.trail().size();
    kms.enableKey(keyArn);
    con.kv("  key enabled", "[" + con.clock() + "]");
    Outcome on = awaitServed(enabledAt, GIVE_UP);
    Observed restored = firstEvent(RevocationEvent.Kind.RESTORED, enabledAt);
    reportRestore(on, restored, enabledAt, restoreLimit, mark);
    summaryLine(
        "enable -> reads served",
        "DB "
            + fmt(on.db())
            + ", S3 "
            + fmt(on.s3())
            + " (settle "
            + Console.ms(SETTLE)
            + ", limit "
            + Console.ms(restoreLimit)
            + ")");

    // 4c. schedule deletion
    con.blank();
    con.line("4c. ScheduleKeyDeletion, 7-day waiting period");
    long scheduledAt = System.nanoTime();
    kms.scheduleKeyDeletion(keyArn, 7);
    con.kv("  deletion scheduled", "[" + con.clock() + "]");
    Outcome pending = awaitRefused(scheduledAt, GIVE_UP);
    Observed revoked2 = firstEvent(RevocationEvent.Kind.REVOKED, scheduledAt);
    reportRefusal(pending, revoked2, scheduledAt, RevocationReason.PENDING_DELETION, limit);
    summaryLine(
        "schedule deletion -> refused",
        "DB " + fmt(pending.db()) + ", S3 " + fmt(pending.s3()) + " (PENDING_DELETION)");

    // 4d. cancel (the key is then Disabled, as in KMS) and enable
    con.blank();
    con.line("4d. CancelKeyDeletion (KMS leaves the key Disabled), then EnableKey");
    long cancelledAt = System.nanoTime();
    kms.cancelKeyDeletion(keyArn);
    con.kv("  deletion cancelled, key Disabled", "[" + con.clock() + "]");
    Duration nowDisabled = awaitDbReason(cancelledAt, RevocationReason.DISABLED, GIVE_UP);
    checks.expect(
        "after the cancellation reads stay refused, now as DISABLED",
        Checks.refusedWithin(
            nowDisabled,
            nowDisabled == null ? null : RevocationReason.DISABLED,
            RevocationReason.DISABLED,
            limit));
    long enabled2At = System.nanoTime();
    int mark2 = kms.trail().size();
    kms.enableKey(keyArn);
    con.kv("  key enabled", "[" + con.clock() + "]");
    Outcome on2 = awaitServed(enabled2At, GIVE_UP);
    Observed restored2 = firstEvent(RevocationEvent.Kind.RESTORED, enabled2At);
    reportRestore(on2, restored2, enabled2At, restoreLimit, mark2);
    summaryLine("cancel + enable -> reads served", "DB " + fmt(on2.db()) + ", S3 " + fmt(on2.s3()));

    con.blank();
    con.line("4e. After all that, is everything still there?");
    readBack(0, null);
    return new Outcome[] {off, on};
  }

  /**
   * Measures, just before the kill switch, the round trips the limits depend on: KMS (a Decrypt),
   * one read (a DB row and an S3 object, warm) and a PostgreSQL round trip (SELECT 1), each the
   * slowest of {@value Limits#SAMPLES}.
   */
  private Limits measureLimits() throws SQLException {
    Duration kmsRtt = kmsRoundTrip(keyArn);
    List<Long> reads = new ArrayList<>();
    List<Long> db = new ArrayList<>();
    for (int i = 0; i < Limits.SAMPLES; i++) {
      long t = System.nanoTime();
      readRow(corpus.messages().get(i).id());
      getObject(smallest);
      reads.add(System.nanoTime() - t);
      t = System.nanoTime();
      try (Statement st = worker.createStatement();
          ResultSet rs = st.executeQuery("SELECT 1")) {
        rs.next();
      }
      db.add(System.nanoTime() - t);
    }
    return Limits.of(probeSettings(), kmsRtt, Limits.slowest(reads), Limits.slowest(db));
  }

  /**
   * The slowest of {@value Limits#SAMPLES} KMS Decrypt round trips against {@code key} (a canary
   * encrypted once), made by the demo outside the library with its own vendor client: CloudTrail
   * has them, and the reconciliation names them as the demo's.
   */
  Duration kmsRoundTrip(String key) {
    Map<String, String> ctx = Map.of("panops:purpose", "demo-round-trip");
    List<Long> samples = new ArrayList<>();
    try (KmsClient c = vendorKmsClient(sessionOf("demo-measure-" + UUID.randomUUID()))) {
      var enc =
          c.encrypt(
              r ->
                  r.keyId(key)
                      .encryptionContext(ctx)
                      .plaintext(
                          software.amazon.awssdk.core.SdkBytes.fromUtf8String("round trip")));
      demoDirectRequestIds.add(enc.responseMetadata().requestId());
      for (int i = 0; i < Limits.SAMPLES; i++) {
        long t = System.nanoTime();
        var dec =
            c.decrypt(
                r -> r.keyId(key).encryptionContext(ctx).ciphertextBlob(enc.ciphertextBlob()));
        samples.add(System.nanoTime() - t);
        demoDirectRequestIds.add(dec.responseMetadata().requestId());
      }
    }
    return Limits.slowest(samples);
  }

  /** worker-1's refusal (the later of its DB read and S3 GET) and the other workers'. */
  private static Map<String, Duration> allRefusals(Outcome o) {
    Map<String, Duration> all = new TreeMap<>(o.fleet());
    all.put("worker-1", o.later());
    return all;
  }

  private void reportRefusal(
      Outcome o, Observed event, long since, RevocationReason expected, Duration limit) {
    Duration ev = event == null ? null : Duration.ofNanos(event.nanos() - since);
    con.kv("  reads still served from the warm cache", o.served() + " (DB row + S3 object each)");
    con.kv(
        "  RevocationEvent REVOKED",
        fmt(ev)
            + " after the customer's action"
            + (event == null ? "" : ", " + event.event().reason()));
    con.kv(
        "  first refused DB read",
        fmt(o.db())
            + (o.dbError() == null
                ? ""
                : ": SQLState " + o.dbError().getSQLState() + ", " + reasonOf(o.dbError())));
    con.kv(
        "  first refused S3 GET",
        fmt(o.s3())
            + (o.s3Error() == null
                ? ""
                : ": " + o.s3Error().getClass().getSimpleName() + ", " + o.s3Error().reason()));
    checks.expect(
        "the library latched the key within the refusal limit",
        Checks.latchedWithin(ev, event == null ? null : event.event().reason(), expected, limit));
    checks.expect(
        "database reads refused within the limit, SQLState PC001, reason " + expected,
        Checks.refusedWithin(
            o.db(),
            o.dbError() != null && SqlStates.KEY_REVOKED.equals(o.dbError().getSQLState())
                ? reasonOf(o.dbError())
                : null,
            expected,
            limit));
    checks.expect(
        "S3 GETs refused within the limit (S3KeyRevokedException), reason " + expected,
        Checks.refusedWithin(
            o.s3(), o.s3Error() == null ? null : o.s3Error().reason(), expected, limit));
  }

  private void reportRestore(Outcome o, Observed event, long since, Duration limit, int mark) {
    Duration ev = event == null ? null : Duration.ofNanos(event.nanos() - since);
    con.kv(
        "  RevocationEvent RESTORED",
        fmt(ev) + " after EnableKey (3 successful probes over the settle time)");
    con.kv("  first served DB read / S3 GET", fmt(o.db()) + " / " + fmt(o.s3()));
    List<TrailEvent> after = vendorTrail(kms.trail().subList(mark, kms.trail().size()));
    long refetched =
        after.stream().filter(e -> !isProbe(e) && "Decrypt".equals(e.eventName())).count();
    con.kv(
        "  data keys fetched from KMS again",
        refetched + " Decrypt (the cache was purged and wiped at revocation)");
    checks.expect(
        "service restored after the settle time, within the restore limit",
        Checks.restored(o.later(), ev, SETTLE, limit));
  }

  /**
   * Keeps the worker busy while the key is latched: everything fails fast, KMS sees only probes.
   */
  private void latchedTraffic(Observed revoked) throws Exception {
    con.blank();
    con.line(
        "  The worker keeps trying for "
            + Console.ms(LATCHED_TRAFFIC)
            + " (reads, a write, a lookup, an upload):");
    int mark = kms.trail().size();
    long end = System.nanoTime() + LATCHED_TRAFFIC.toNanos();
    int dbRefused = 0;
    int s3Refused = 0;
    int attempts = 0;
    List<Long> latencies = new ArrayList<>();
    int i = 0;
    while (System.nanoTime() < end) {
      attempts++;
      long t = System.nanoTime();
      try {
        readRow(corpus.messages().get(i++ % MESSAGES).id());
      } catch (SQLException e) {
        if (SqlStates.KEY_REVOKED.equals(e.getSQLState())) {
          dbRefused++;
        }
      }
      latencies.add(System.nanoTime() - t);
      try {
        getObject(smallest);
      } catch (S3KeyRevokedException e) {
        s3Refused++;
      }
      Thread.sleep(25);
    }
    Collections.sort(latencies);
    con.kv(
        "  DB reads refused",
        dbRefused
            + " of "
            + attempts
            + ", median "
            + Console.ms(latencies.get(latencies.size() / 2))
            + " each (fail fast, no KMS call)");
    con.kv("  S3 GETs refused", s3Refused + " of " + attempts);

    // a write, in a transaction: refused by bind(), before anything reaches the database
    long before = countMessages();
    SQLException writeError = null;
    Message extra =
        new Message(
            UUID.randomUUID().toString(),
            Instant.now(),
            "lee.okafor@acme-corp.example",
            List.of("dana.whitfield@acme-corp.example"),
            "Written while the key is disabled",
            "This must never be stored.",
            List.of());
    worker.setAutoCommit(false);
    try (PreparedStatement ps = worker.prepareStatement(INSERT_MESSAGE)) {
      bindMessage(ps, extra);
      ps.executeUpdate();
      worker.commit();
    } catch (SQLException e) {
      writeError = e;
      worker.rollback();
    } finally {
      worker.setAutoCommit(true);
    }
    long after = countMessages();
    con.kv(
        "  DB insert (in a transaction)",
        (writeError == null ? "ACCEPTED" : "refused, SQLState " + writeError.getSQLState())
            + "; rows before/after: "
            + before
            + "/"
            + after);

    SQLException lookupError = null;
    try (PreparedStatement ps =
        worker.prepareStatement(
            "SELECT id FROM mail_message WHERE tenant_id = ? AND sender_bidx = ?")) {
      ps.setString(1, TENANT);
      senderIdx.bind(ps, 2, corpus.busiestSender());
      ps.executeQuery().close();
    } catch (SQLException e) {
      lookupError = e;
    }
    con.kv(
        "  blind-index lookup",
        lookupError == null ? "ANSWERED" : "refused, SQLState " + lookupError.getSQLState());

    String putKey = "tenants/" + TENANT + "/mail-attachments/written-while-disabled";
    String putResult;
    try {
      s3.putObject(r -> r.bucket(BUCKET).key(putKey), RequestBody.fromString("never stored"));
      putResult = "ACCEPTED";
    } catch (S3KeyRevokedException e) {
      putResult = "refused, " + e.getClass().getSimpleName();
    }
    boolean stored;
    try {
      rawS3.headObject(r -> r.bucket(BUCKET).key(putKey));
      stored = true;
    } catch (NoSuchKeyException e) {
      stored = false;
    } catch (S3Exception e) {
      stored = e.statusCode() != 404;
    }
    con.kv(
        "  S3 PUT of a new object", putResult + (stored ? "; object exists" : "; nothing stored"));

    // this key's records only (the second key is not latched; its probes succeed)
    List<TrailEvent> during =
        vendorTrail(kms.trail().subList(mark, kms.trail().size())).stream()
            .filter(e -> keyArn.equals(e.keyId()))
            .toList();
    long probes = during.stream().filter(Walkthrough::isProbe).count();
    long probesRefused = during.stream().filter(e -> isProbe(e) && e.failed()).count();
    long data = during.stream().filter(e -> !isProbe(e)).count();
    con.kv(
        "  KMS calls meanwhile (CloudTrail)",
        probes
            + " probe Decrypt ("
            + probesRefused
            + " refused: "
            + errorCodes(during)
            + "), "
            + data
            + " for data");
    checks.expect(
        "while latched every operation fails (reads, write, lookup, upload) and nothing is written",
        dbRefused == attempts
            && s3Refused == attempts
            && writeError != null
            && SqlStates.KEY_REVOKED.equals(writeError.getSQLState())
            && before == after
            && lookupError != null
            && SqlStates.KEY_REVOKED.equals(lookupError.getSQLState())
            && putResult.startsWith("refused")
            && !stored);
    checks.expect(
        "no data-key Decrypt reached KMS while latched; the probe kept checking",
        Checks.onlyRefusedProbes(data, probes, probesRefused));
  }

  private long countMessages() throws SQLException {
    try (Statement s = worker.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM mail_message")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Reads and decrypts one message row through the worker's connection. */
  private void readRow(String id) throws SQLException {
    selectMessage.setString(1, TENANT);
    selectMessage.setObject(2, UUID.fromString(id));
    try (ResultSet rs = selectMessage.executeQuery()) {
      if (!rs.next() || !matches(rs)) {
        throw new IllegalStateException("message read back differently");
      }
    }
  }

  private void getObject(Attachment a) {
    var got = s3.getObjectAsBytes(r -> r.bucket(BUCKET).key(a.objectKey(TENANT)));
    GetObjectResponse resp = got.response();
    if (got.asByteArray().length != a.size() || resp == null) {
      throw new IllegalStateException("attachment read back differently");
    }
  }

  /** Reads (a DB row and an S3 object) every 20 ms until both are refused as revoked. */
  private Outcome awaitRefused(long since, Duration max) throws InterruptedException {
    long deadline = since + max.toNanos();
    Duration db = null;
    Duration s3d = null;
    SQLException dbError = null;
    S3KeyRevokedException s3Error = null;
    int served = 0;
    int i = 0;
    Map<String, Duration> fleetRefused = new TreeMap<>();
    while ((db == null || s3d == null || fleetRefused.size() < fleet.size())
        && System.nanoTime() < deadline) {
      for (FleetWorker w : fleet) {
        if (!fleetRefused.containsKey(w.name) && w.refusal() != null) {
          fleetRefused.put(w.name, Duration.ofNanos(System.nanoTime() - since));
        }
      }
      boolean both = true;
      if (db == null) {
        try {
          readRow(corpus.messages().get(i++ % MESSAGES).id());
        } catch (SQLException e) {
          both = false;
          if (SqlStates.KEY_REVOKED.equals(e.getSQLState())) {
            db = Duration.ofNanos(System.nanoTime() - since);
            dbError = e;
          }
        }
      }
      if (s3d == null) {
        try {
          getObject(smallest);
        } catch (S3KeyRevokedException e) {
          both = false;
          s3d = Duration.ofNanos(System.nanoTime() - since);
          s3Error = e;
        }
      }
      if (both && db == null && s3d == null) {
        served++;
      }
      if (db == null || s3d == null || fleetRefused.size() < fleet.size()) {
        Thread.sleep(Limits.POLL.toMillis());
      }
    }
    return new Outcome(db, s3d, dbError, s3Error, served, fleetRefused);
  }

  /** Reads every 20 ms until a DB read and an S3 GET have both succeeded. */
  private Outcome awaitServed(long since, Duration max) throws InterruptedException {
    long deadline = since + max.toNanos();
    Duration db = null;
    Duration s3d = null;
    int i = 0;
    while ((db == null || s3d == null) && System.nanoTime() < deadline) {
      if (db == null) {
        try {
          readRow(corpus.messages().get(i++ % MESSAGES).id());
          db = Duration.ofNanos(System.nanoTime() - since);
        } catch (SQLException stillRefused) {
          // latched until a probe succeeds
        }
      }
      if (s3d == null) {
        try {
          getObject(smallest);
          s3d = Duration.ofNanos(System.nanoTime() - since);
        } catch (S3KeyRevokedException stillRefused) {
          // latched until a probe succeeds
        }
      }
      if (db == null || s3d == null) {
        Thread.sleep(20);
      }
    }
    return new Outcome(db, s3d, null, null, 0, Map.of());
  }

  /** Reads until a DB read is refused with {@code reason}; the time, or null. */
  private Duration awaitDbReason(long since, RevocationReason reason, Duration max)
      throws InterruptedException {
    long deadline = since + max.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        readRow(corpus.messages().get(0).id());
        return null; // served: the key is not revoked at all
      } catch (SQLException e) {
        if (reasonOf(e) == reason) {
          return Duration.ofNanos(System.nanoTime() - since);
        }
      }
      Thread.sleep(20);
    }
    return null;
  }

  private Observed firstEvent(RevocationEvent.Kind kind, long after) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (true) {
      for (Observed o : events) {
        if (o.event().kind() == kind && o.nanos() >= after) {
          return o;
        }
      }
      if (System.nanoTime() > deadline) {
        return null;
      }
      Thread.sleep(10);
    }
  }

  private static RevocationReason reasonOf(SQLException e) {
    return e.getCause() instanceof KeyRevokedException k ? k.reason() : null;
  }

  // ------------------------------------------------------------------------- 5. CloudTrail

  /**
   * Step 5: the customer scenes at the library's default probe interval, which ran on their own
   * thread meanwhile: waits for them, prints what they saw, and records their expectations.
   */
  private void defaultIntervalScenes(Future<DefaultIntervalScenes.Outcome> run) throws Exception {
    con.step(5, "The same kill switches at the library's default probe interval (5 s)");
    DefaultIntervalScenes.Outcome o;
    try {
      o = run.get(90, java.util.concurrent.TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    }
    o.lines().forEach(con::raw);
    for (Map.Entry<String, Checks.Verdict> v : o.verdicts()) {
      checks.expect(v.getKey(), v.getValue());
    }
  }

  /** Waits for a probe to finish, then stops the library, so no KMS call is cut off mid-flight. */
  private void quiesceAndClose() throws InterruptedException {
    long probes = audit.stream().filter(a -> "probe".equals(a.purpose())).count();
    long deadline = System.nanoTime() + PROBE_INTERVAL.multipliedBy(3).toNanos();
    while (audit.stream().filter(a -> "probe".equals(a.purpose())).count() == probes
        && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    crypto.close();
  }

  private Reconciliation.Summary reconcile() {
    con.step(6, "What the customer's CloudTrail saw, next to the library's audit events");
    List<TrailEvent> trail = kms.trail();
    List<AuditEvent> auditNow = List.copyOf(audit);
    Reconciliation.Summary r =
        Reconciliation.of(
            auditNow, trail, kms.vendor().roleArn(), kms.admin().roleArn(), demoDirectRequestIds);

    con.line("One refused probe, as each side recorded it (matched by KMS request id):");
    AuditEvent sample =
        auditNow.stream()
            .filter(a -> !a.success() && "probe".equals(a.purpose()))
            .findFirst()
            .orElse(auditNow.get(0));
    TrailEvent sampleTrail =
        trail.stream()
            .filter(t -> sample.requestId() != null && sample.requestId().equals(t.requestId()))
            .findFirst()
            .orElse(null);
    if (sampleTrail != null) {
      con.kv(
          "  CloudTrail eventTime / eventName",
          sampleTrail.eventTime() + " / " + sampleTrail.eventName());
      con.kv("  userIdentity.arn", sampleTrail.userArn());
      con.kv("  sessionContext.sessionIssuer.arn", String.valueOf(sampleTrail.sessionIssuerArn()));
      con.kv("  encryptionContext", sampleTrail.encryptionContext().toString());
      con.kv("  errorCode / requestID", sampleTrail.errorCode() + " / " + sampleTrail.requestId());
    }
    con.kv(
        "  library AuditEvent",
        sample.operation()
            + " purpose="
            + sample.purpose()
            + " tenant="
            + sample.tenantId()
            + " outcome="
            + (sample.success() ? "success" : sample.errorCode())
            + " latency="
            + Console.ms(sample.latency()));
    con.kv("  requestId", String.valueOf(sample.requestId()));

    con.blank();
    con.raw(
        String.format(
            Locale.ROOT,
            "   %-16s %-10s %-26s %9s %11s %8s",
            "operation",
            "purpose",
            "outcome",
            "library",
            "CloudTrail",
            "agree"));
    con.raw("   " + "-".repeat(85));
    for (Reconciliation.Row row : r.rows()) {
      con.raw(
          String.format(
              Locale.ROOT,
              "   %-16s %-10s %-26s %9d %11d %8d",
              row.operation(),
              row.purpose(),
              row.outcome(),
              row.library(),
              row.trail(),
              row.matched()));
    }
    con.raw("   " + "-".repeat(85));
    con.raw(
        String.format(
            Locale.ROOT,
            "   %-54s %9d %11d %8d",
            "total",
            r.auditEvents(),
            r.vendorTrailMatched(),
            r.auditMatched()));
    con.blank();
    con.kv(
        "CloudTrail records of the vendor role",
        r.vendorTrailRecords()
            + ": "
            + r.vendorTrailMatched()
            + " match an audit event, "
            + r.vendorTrailWithoutAudit()
            + " do not, "
            + r.demoDirectCalls()
            + " made by this demo outside the library (the refused key actions)");
    con.kv(
        "the library's audit events",
        r.auditEvents()
            + ": "
            + r.auditMatched()
            + " match their CloudTrail record (request id, operation, key, context, outcome)");
    StringBuilder admin = new StringBuilder();
    r.adminActions()
        .forEach(
            (op, n) ->
                admin.append(admin.length() == 0 ? "" : ", ").append(op).append(' ').append(n));
    con.kv("the customer's KeyAdmin (CloudTrail only)", admin.toString());
    checks.expect(
        "every audit event matches the CloudTrail record with its request id",
        Checks.auditMatchesTrail(r));
    checks.expect(
        "every CloudTrail record of the vendor role has its audit event", Checks.trailHasAudit(r));
    checks.expect(
        "the customer's CloudTrail shows the library calling only the five permitted operations",
        Checks.onlyPermittedOperations(trail, kms.vendor().roleArn(), demoDirectRequestIds));
    // the library's calls are the vendor role's: none of the customer admin's records is one
    Set<String> libraryIds = new HashSet<>();
    auditNow.forEach(a -> libraryIds.add(a.requestId()));
    checks.expect(
        "no CloudTrail record of the customer's KeyAdmin role is a call of the library",
        Checks.adminRecordsNotLibrary(trail, kms.admin().roleArn(), libraryIds));
    summaryLine(
        "audit events vs CloudTrail",
        r.auditMatched()
            + " of "
            + r.auditEvents()
            + " matched; "
            + r.vendorTrailWithoutAudit()
            + " vendor records unexplained");
    return r;
  }

  /**
   * Vendor KMS calls other than probes inside the windows in which a key was latched, the windows
   * taken from the customer's trail: from a key's first refused probe to its next successful probe.
   */
  private long dataCallsWhileLatched() {
    List<TrailEvent> trail = kms.trail();
    String role = kms.vendor().roleArn();
    List<Checks.Window> windows = Checks.latchedWindows(trail, role);
    latchedWindowCount = windows.size();
    con.blank();
    con.line(
        "Latched windows in the customer's CloudTrail (first refused probe -> first successful");
    con.line("probe, per key), and every vendor record inside them:");
    for (Checks.Window w : windows) {
      long inside =
          trail.stream()
              .filter(t -> role.equals(t.roleArn()) && w.keyArn().equals(t.keyId()))
              .filter(t -> w.contains(t.eventTime()))
              .count();
      con.kv(
          "  " + keyNames.getOrDefault(w.keyArn(), w.keyArn()),
          w.from()
              + " -> "
              + w.to()
              + " ("
              + (w.to() == null ? "open" : Console.ms(Duration.between(w.from(), w.to())))
              + ", "
              + inside
              + " records)");
    }
    Checks.Verdict v =
        Checks.noDataCallsWhileLatched(trail, role, demoDirectRequestIds, expectedWindows);
    checks.expect("over the whole run, no data-key KMS call while a key was latched", v);
    long n = Checks.dataCallsInWindows(trail, role, demoDirectRequestIds, windows);
    summaryLine("data-key KMS calls while latched (trail windows)", v.measured());
    return n;
  }

  private void printSummary(Duration total) {
    con.blank();
    con.raw("Summary");
    con.raw("-------");
    summary.forEach(con::kv);
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
    con.kv("expectations", checks.held() + " held, " + checks.failed().size() + " failed");
    con.kv("walkthrough time (servers up)", Console.ms(total));
  }

  private void summaryLine(String label, String value) {
    summary.put(label, value);
  }

  // ------------------------------------------------------------------------- helpers

  private S3Client s3Client() {
    return S3Client.builder()
        .endpointOverride(servers.s3.endpoint())
        .forcePathStyle(true)
        .region(Region.of(servers.s3.region()))
        .credentialsProvider(
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create("demo-access", "demo-secret")))
        .build();
  }

  /**
   * The vendor role's records (any session) for this customer's two keys: the other customers of
   * step 5 are served meanwhile by another worker, and their records are not this worker's.
   */
  private List<TrailEvent> vendorTrail(List<TrailEvent> trail) {
    List<TrailEvent> out = new ArrayList<>();
    for (TrailEvent t : trail) {
      boolean ours =
          keyArn.equals(t.keyId())
              || secondKeyArn.equals(t.keyId())
              || keyArn.equals(t.destinationKeyId());
      if (kms.vendor().roleArn().equals(t.roleArn()) && ours) {
        out.add(t);
      }
    }
    return out;
  }

  private static boolean isProbe(TrailEvent t) {
    return PROBE_PURPOSE.equals(t.encryptionContext().get("panops:purpose"));
  }

  private static String byOperation(List<TrailEvent> events, Predicate<TrailEvent> which) {
    Map<String, Integer> n = new TreeMap<>();
    for (TrailEvent e : events) {
      if (which.test(e)) {
        n.merge(e.eventName(), 1, Integer::sum);
      }
    }
    return n.isEmpty() ? "" : n.toString().replace("=", " ");
  }

  private static String errorCodes(List<TrailEvent> events) {
    Map<String, Integer> n = new TreeMap<>();
    for (TrailEvent e : events) {
      if (e.failed()) {
        n.merge(e.errorCode(), 1, Integer::sum);
      }
    }
    return n.isEmpty() ? "none" : String.join(", ", n.keySet());
  }

  private static String fmt(Duration d) {
    return d == null ? "never" : Console.ms(d);
  }

  /** Runs {@code task} for every item on the worker's S3 threads; rethrows the first failure. */
  private <T> void inParallel(List<T> items, Consumer<T> task) throws Exception {
    List<Future<?>> futures = new ArrayList<>();
    for (T item : items) {
      futures.add(pool.submit(() -> task.accept(item)));
    }
    for (Future<?> f : futures) {
      try {
        f.get();
      } catch (ExecutionException e) {
        for (Future<?> other : futures) {
          other.cancel(true);
        }
        throw e.getCause() instanceof Exception ex ? ex : e;
      }
    }
  }
}
