package com.panops.crypto.demo;

import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.demo.ReadWatch.Outcome;
import com.panops.crypto.demo.Revocations.Observed;
import com.panops.crypto.jdbc.SqlStates;
import com.panops.crypto.testkit.TrailEvent;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * Step 4: the customer pulls the kill switch, acting only in its own account, while every data key
 * is cached. First the fleet's probes are counted and the limits derived from round trips measured
 * just now; then the customer disables the key (reads, S3 GETs and every worker of the fleet are
 * refused within the refusal limit, and the vendor cannot undo it), enables it (served again within
 * the restore limit), schedules its deletion and cancels it (the key is then Disabled) and enables
 * it again; finally everything is read back.
 */
final class KillSwitch {
  /** How long the walkthrough waits for something that should happen within the limit. */
  private static final Duration GIVE_UP = Duration.ofSeconds(8);

  /**
   * What step 4 measured.
   *
   * @param off the first DisableKey's outcome
   * @param on the first EnableKey's outcome
   * @param limits the limits, derived just before
   * @param fleetProbes probe Decrypts of the fleet's keys counted in the trail
   */
  record Result(Outcome off, Outcome on, Limits limits, long fleetProbes) {}

  private final DemoRun run;
  private final Mailbox box;
  private final Fleet fleet;
  private final Revocations revocations;
  private final ReadWatch watch;
  private final Console con;
  private Limits limits;

  KillSwitch(DemoRun run, Mailbox box, Fleet fleet, Revocations revocations) {
    this.run = run;
    this.box = box;
    this.fleet = fleet;
    this.revocations = revocations;
    this.watch = new ReadWatch(box, fleet);
    this.con = run.con;
  }

  Result run() throws Exception {
    con.step(4, "The customer pulls the kill switch (acting only in its own AWS account)");
    long fleetProbes = fleet.countProbes();
    limits = measureLimits();
    explainLimits();
    warmReads();
    Outcome off = disable();
    LatchedTraffic.show(run, box);
    vendorCannotEnable();
    Outcome on = enable();
    scheduleDeletion();
    cancelDeletionAndEnable();
    con.blank();
    con.line("4e. After all that, is everything still there?");
    ReadBack.run(run, box, 0, null);
    return new Result(off, on, limits, fleetProbes);
  }

  /**
   * Measures, just before the kill switch, the round trips the limits depend on: KMS (a Decrypt),
   * one read (a DB row and an S3 object, warm) and a PostgreSQL round trip (SELECT 1), each the
   * slowest of {@value Limits#SAMPLES}.
   */
  private Limits measureLimits() throws SQLException {
    Duration kmsRtt = run.kmsRoundTrip(run.keyArn);
    List<Long> reads = new ArrayList<>();
    List<Long> db = new ArrayList<>();
    for (int i = 0; i < Limits.SAMPLES; i++) {
      long t = System.nanoTime();
      box.readMessage(i);
      box.getObject(box.smallest);
      reads.add(System.nanoTime() - t);
      t = System.nanoTime();
      try (Statement st = box.worker.createStatement();
          ResultSet rs = st.executeQuery("SELECT 1")) {
        rs.next();
      }
      db.add(System.nanoTime() - t);
    }
    return Limits.of(DemoRun.probeSettings(), kmsRtt, Limits.slowest(reads), Limits.slowest(db));
  }

  private void explainLimits() {
    con.blank();
    con.line("Every data key is cached now: the worker could keep reading without asking KMS.");
    con.line("What notices the customer's action is the liveness probe, a canary Decrypt through");
    con.line(
        "KMS every "
            + Console.ms(Walkthrough.PROBE_INTERVAL)
            + " (by one worker of the fleet, which tells the others through PostgreSQL).");
    con.line("The limits follow from the probe settings and round trips measured just now:");
    for (String l : limits.derivation()) {
      con.line("  " + l);
    }
  }

  /** Proves that reads are currently served without KMS. */
  private void warmReads() throws SQLException {
    int warmMark = run.kms.trail().size();
    for (int i = 0; i < 20; i++) {
      box.readMessage(i);
      box.getObject(box.smallest);
    }
    long warmCalls =
        run.vendorTrailSince(warmMark).stream().filter(e -> !Checks.isProbe(e)).count();
    con.kv("warm cache: 20 reads (DB row + S3 object)", warmCalls + " KMS calls for data keys");
  }

  /** 4a: the customer disables the key; worker-1 and every other worker must refuse it. */
  private Outcome disable() throws InterruptedException {
    Duration limit = limits.refusal();
    con.blank();
    con.line("4a. DisableKey");
    long disabledAt = System.nanoTime();
    run.kms.disableKey(run.keyArn);
    con.kv("  key disabled", "[" + con.clock() + "]");
    Outcome off = watch.awaitRefused(disabledAt, GIVE_UP);
    Observed revoked = revocations.first(RevocationEvent.Kind.REVOKED, disabledAt);
    reportRefusal(off, revoked, disabledAt, RevocationReason.DISABLED);
    Map<String, String> others = new TreeMap<>();
    off.fleet().forEach((w, d) -> others.put(w, Checks.fmt(d)));
    con.kv("  the other workers' first refused decrypt", others.toString());
    run.checks.expect(
        "every worker of the fleet refuses the disabled key within the limit",
        Checks.everyWorkerRefused(allRefusals(off), Walkthrough.FLEET_WORKERS, limit));
    run.summaryLine(
        "disable -> reads refused", dbAndS3(off) + " (limit " + Console.ms(limit) + ")");
    return off;
  }

  /**
   * When worker-1's DB read and S3 GET were refused or served, e.g. {@code DB 0.62 s, S3 0.63 s}.
   */
  private static String dbAndS3(Outcome o) {
    return "DB " + Checks.fmt(o.db()) + ", S3 " + Checks.fmt(o.s3());
  }

  /** worker-1's refusal (the later of its DB read and S3 GET) and the other workers'. */
  private static Map<String, Duration> allRefusals(Outcome o) {
    Map<String, Duration> all = new TreeMap<>(o.fleet());
    all.put("worker-1", o.later());
    return all;
  }

  private void vendorCannotEnable() {
    String code;
    try {
      try (KmsClient vendor = run.vendorKmsClient()) {
        vendor.enableKey(r -> r.keyId(run.keyArn));
      }
      code = "accepted";
    } catch (AwsServiceException e) {
      code = e.awsErrorDetails().errorCode();
      run.demoDirectRequestIds.add(e.requestId());
    }
    run.checks.expect(
        "the vendor role cannot re-enable the key itself",
        Checks.refusedAs(code, "AccessDeniedException", "EnableKey as the vendor"));
  }

  /** 4b: the customer changes its mind; reads are served again after the settle time. */
  private Outcome enable() throws InterruptedException {
    con.blank();
    con.line("4b. EnableKey (the customer changes its mind)");
    Outcome on = enableAndAwait();
    run.summaryLine(
        "enable -> reads served",
        dbAndS3(on)
            + " (settle "
            + Console.ms(Walkthrough.SETTLE)
            + ", limit "
            + Console.ms(limits.restore())
            + ")");
    return on;
  }

  /** EnableKey, then waits for reads to be served and reports the restore. */
  private Outcome enableAndAwait() throws InterruptedException {
    long enabledAt = System.nanoTime();
    int mark = run.kms.trail().size();
    run.kms.enableKey(run.keyArn);
    con.kv("  key enabled", "[" + con.clock() + "]");
    Outcome on = watch.awaitServed(enabledAt, GIVE_UP);
    Observed restored = revocations.first(RevocationEvent.Kind.RESTORED, enabledAt);
    reportRestore(on, restored, enabledAt, mark);
    return on;
  }

  /** 4c: ScheduleKeyDeletion, 7-day waiting period: refused as PENDING_DELETION. */
  private void scheduleDeletion() throws InterruptedException {
    con.blank();
    con.line("4c. ScheduleKeyDeletion, 7-day waiting period");
    long scheduledAt = System.nanoTime();
    run.kms.scheduleKeyDeletion(run.keyArn, 7);
    con.kv("  deletion scheduled", "[" + con.clock() + "]");
    Outcome pending = watch.awaitRefused(scheduledAt, GIVE_UP);
    Observed revoked = revocations.first(RevocationEvent.Kind.REVOKED, scheduledAt);
    reportRefusal(pending, revoked, scheduledAt, RevocationReason.PENDING_DELETION);
    run.summaryLine("schedule deletion -> refused", dbAndS3(pending) + " (PENDING_DELETION)");
  }

  /** 4d: cancel the deletion (the key is then Disabled, as in KMS) and enable the key. */
  private void cancelDeletionAndEnable() throws InterruptedException {
    con.blank();
    con.line("4d. CancelKeyDeletion (KMS leaves the key Disabled), then EnableKey");
    long cancelledAt = System.nanoTime();
    run.kms.cancelKeyDeletion(run.keyArn);
    con.kv("  deletion cancelled, key Disabled", "[" + con.clock() + "]");
    Duration nowDisabled = watch.awaitDbReason(cancelledAt, RevocationReason.DISABLED, GIVE_UP);
    run.checks.expect(
        "after the cancellation reads stay refused, now as DISABLED",
        Checks.refusedWithin(
            nowDisabled,
            nowDisabled == null ? null : RevocationReason.DISABLED,
            RevocationReason.DISABLED,
            limits.refusal()));
    Outcome on = enableAndAwait();
    run.summaryLine("cancel + enable -> reads served", dbAndS3(on));
  }

  private void reportRefusal(Outcome o, Observed event, long since, RevocationReason expected) {
    Duration limit = limits.refusal();
    Duration ev = event == null ? null : Duration.ofNanos(event.nanos() - since);
    con.kv("  reads still served from the warm cache", o.served() + " (DB row + S3 object each)");
    con.kv(
        "  RevocationEvent REVOKED",
        Checks.fmt(ev)
            + " after the customer's action"
            + (event == null ? "" : ", " + event.event().reason()));
    con.kv(
        "  first refused DB read",
        Checks.fmt(o.db())
            + (o.dbError() == null
                ? ""
                : ": SQLState "
                    + o.dbError().getSQLState()
                    + ", "
                    + ReadWatch.reasonOf(o.dbError())));
    con.kv(
        "  first refused S3 GET",
        Checks.fmt(o.s3())
            + (o.s3Error() == null
                ? ""
                : ": " + o.s3Error().getClass().getSimpleName() + ", " + o.s3Error().reason()));
    run.checks.expect(
        "the library latched the key within the refusal limit",
        Checks.latchedWithin(ev, event == null ? null : event.event().reason(), expected, limit));
    run.checks.expect(
        "database reads refused within the limit, SQLState PC001, reason " + expected,
        Checks.refusedWithin(o.db(), dbReason(o), expected, limit));
    run.checks.expect(
        "S3 GETs refused within the limit (S3KeyRevokedException), reason " + expected,
        Checks.refusedWithin(
            o.s3(), o.s3Error() == null ? null : o.s3Error().reason(), expected, limit));
  }

  /** The reason of the refused DB read, if it was refused as revoked (SQLState PC001). */
  private static RevocationReason dbReason(Outcome o) {
    return o.dbError() != null && SqlStates.KEY_REVOKED.equals(o.dbError().getSQLState())
        ? ReadWatch.reasonOf(o.dbError())
        : null;
  }

  private void reportRestore(Outcome o, Observed event, long since, int mark) {
    Duration ev = event == null ? null : Duration.ofNanos(event.nanos() - since);
    con.kv(
        "  RevocationEvent RESTORED",
        Checks.fmt(ev) + " after EnableKey (3 successful probes over the settle time)");
    con.kv("  first served DB read / S3 GET", Checks.fmt(o.db()) + " / " + Checks.fmt(o.s3()));
    List<TrailEvent> after = run.vendorTrailSince(mark);
    long refetched =
        after.stream().filter(e -> !Checks.isProbe(e) && "Decrypt".equals(e.eventName())).count();
    con.kv(
        "  data keys fetched from KMS again",
        refetched + " Decrypt (the cache was purged and wiped at revocation)");
    run.checks.expect(
        "service restored after the settle time, within the restore limit",
        Checks.restored(o.later(), ev, Walkthrough.SETTLE, limits.restore()));
  }
}
