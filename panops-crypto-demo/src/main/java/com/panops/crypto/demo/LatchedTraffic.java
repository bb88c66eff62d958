package com.panops.crypto.demo;

import com.panops.crypto.demo.MailCorpus.Message;
import com.panops.crypto.jdbc.SqlStates;
import com.panops.crypto.s3.S3KeyRevokedException;
import com.panops.crypto.testkit.TrailEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The worker keeps busy while the customer's key is latched (disabled): reads, a write in a
 * transaction, a blind-index lookup and an upload all fail fast, nothing is written, and KMS sees
 * only the liveness probe.
 */
final class LatchedTraffic {
  /** How long the worker keeps trying while the key is disabled. */
  private static final Duration DURATION = Duration.ofMillis(2500);

  private static final String TENANT = Walkthrough.TENANT;

  private final DemoRun run;
  private final Mailbox box;
  private final Console con;

  private int attempts;
  private int dbRefused;
  private int s3Refused;
  private SQLException writeError;
  private long rowsBefore;
  private long rowsAfter;
  private SQLException lookupError;
  private String putResult;
  private boolean stored;

  private LatchedTraffic(DemoRun run, Mailbox box) {
    this.run = run;
    this.box = box;
    this.con = run.con;
  }

  static void show(DemoRun run, Mailbox box) throws Exception {
    new LatchedTraffic(run, box).show();
  }

  private void show() throws Exception {
    con.blank();
    con.line(
        "  The worker keeps trying for "
            + Console.ms(DURATION)
            + " (reads, a write, a lookup, an upload):");
    int mark = run.kms.trail().size();
    retryReads();
    tryWrite();
    tryLookup();
    tryUpload();
    checkKms(mark);
  }

  private void retryReads() throws InterruptedException {
    long end = System.nanoTime() + DURATION.toNanos();
    List<Long> latencies = new ArrayList<>();
    int i = 0;
    while (System.nanoTime() < end) {
      attempts++;
      long t = System.nanoTime();
      try {
        box.readMessage(i++);
      } catch (SQLException e) {
        if (SqlStates.KEY_REVOKED.equals(e.getSQLState())) {
          dbRefused++;
        }
      }
      latencies.add(System.nanoTime() - t);
      try {
        box.getObject(box.smallest);
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
  }

  /** A write, in a transaction: refused by bind(), before anything reaches the database. */
  private void tryWrite() throws SQLException {
    rowsBefore = box.countMessages();
    Message extra =
        new Message(
            UUID.randomUUID().toString(),
            Instant.now(),
            "lee.okafor@acme-corp.example",
            List.of("dana.whitfield@acme-corp.example"),
            "Written while the key is disabled",
            "This must never be stored.",
            List.of());
    Connection worker = box.worker;
    worker.setAutoCommit(false);
    try (PreparedStatement ps = worker.prepareStatement(Mailbox.INSERT_MESSAGE)) {
      box.bindMessage(ps, extra);
      ps.executeUpdate();
      worker.commit();
    } catch (SQLException e) {
      writeError = e;
      worker.rollback();
    } finally {
      worker.setAutoCommit(true);
    }
    rowsAfter = box.countMessages();
    con.kv(
        "  DB insert (in a transaction)",
        (writeError == null ? "ACCEPTED" : "refused, SQLState " + writeError.getSQLState())
            + "; rows before/after: "
            + rowsBefore
            + "/"
            + rowsAfter);
  }

  private void tryLookup() {
    try (PreparedStatement ps =
        box.worker.prepareStatement(
            "SELECT id FROM mail_message WHERE tenant_id = ? AND sender_bidx = ?")) {
      ps.setString(1, TENANT);
      box.senderIdx.bind(ps, 2, run.corpus.busiestSender());
      ps.executeQuery().close();
    } catch (SQLException e) {
      lookupError = e;
    }
    con.kv(
        "  blind-index lookup",
        lookupError == null ? "ANSWERED" : "refused, SQLState " + lookupError.getSQLState());
  }

  private void tryUpload() {
    String putKey = "tenants/" + TENANT + "/mail-attachments/written-while-disabled";
    try {
      box.s3.putObject(
          r -> r.bucket(Mailbox.BUCKET).key(putKey), RequestBody.fromString("never stored"));
      putResult = "ACCEPTED";
    } catch (S3KeyRevokedException e) {
      putResult = "refused, " + e.getClass().getSimpleName();
    }
    try {
      box.rawS3.headObject(r -> r.bucket(Mailbox.BUCKET).key(putKey));
      stored = true;
    } catch (NoSuchKeyException e) {
      stored = false;
    } catch (S3Exception e) {
      stored = e.statusCode() != 404;
    }
    con.kv(
        "  S3 PUT of a new object", putResult + (stored ? "; object exists" : "; nothing stored"));
  }

  /** What KMS saw meanwhile, and that every operation failed with nothing written. */
  private void checkKms(int mark) {
    // this key's records only (the second key is not latched; its probes succeed)
    List<TrailEvent> during =
        run.vendorTrailSince(mark).stream().filter(e -> run.keyArn.equals(e.keyId())).toList();
    long probes = during.stream().filter(Checks::isProbe).count();
    long probesRefused = during.stream().filter(e -> Checks.isProbe(e) && e.failed()).count();
    long data = during.stream().filter(e -> !Checks.isProbe(e)).count();
    con.kv(
        "  KMS calls meanwhile (CloudTrail)",
        probes
            + " probe Decrypt ("
            + probesRefused
            + " refused: "
            + DemoRun.errorCodes(during)
            + "), "
            + data
            + " for data");
    run.checks.expect(
        "while latched every operation fails (reads, write, lookup, upload) and nothing is written",
        dbRefused == attempts
            && s3Refused == attempts
            && writeError != null
            && SqlStates.KEY_REVOKED.equals(writeError.getSQLState())
            && rowsBefore == rowsAfter
            && lookupError != null
            && SqlStates.KEY_REVOKED.equals(lookupError.getSQLState())
            && putResult.startsWith("refused")
            && !stored);
    run.checks.expect(
        "no data-key Decrypt reached KMS while latched; the probe kept checking",
        Checks.onlyRefusedProbes(data, probes, probesRefused));
  }
}
