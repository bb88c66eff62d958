package com.panops.crypto.demo;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.demo.MailCorpus.Attachment;
import com.panops.crypto.demo.MailCorpus.Message;
import com.panops.crypto.testkit.TrailEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * Step 2: the worker ingests the synthetic mailbox, the attachments into S3 (encrypted, under
 * opaque object keys) and the messages and attachment rows into PostgreSQL (encrypted columns, a
 * blind-indexed sender) in one batched transaction over a verified TLS session. Counts the KMS
 * calls this took in the customer's trail against the values encrypted, then shows what the
 * database and the bucket hold ({@link AtRest}).
 */
final class Ingest {
  private static final String TENANT = Walkthrough.TENANT;
  private static final int MESSAGES = Walkthrough.MESSAGES;

  /**
   * What ingesting cost.
   *
   * @param dataCalls KMS calls for data keys meanwhile (probes not counted)
   * @param values values and objects encrypted
   */
  record Cost(long dataCalls, long values) {}

  private final DemoRun run;
  private final Mailbox box;
  private final Console con;
  private final List<Attachment> attachments;

  private Ingest(DemoRun run, Mailbox box) {
    this.run = run;
    this.box = box;
    this.con = run.con;
    this.attachments = run.corpus.attachments();
  }

  /** Runs step 2 on {@code ds}, the worker's data source, under {@code crypto}. */
  static Cost run(DemoRun run, Mailbox box, DataSource ds, PanopsCrypto crypto) throws Exception {
    return new Ingest(run, box).ingest(ds, crypto);
  }

  private Cost ingest(DataSource ds, PanopsCrypto crypto) throws Exception {
    con.step(2, "The worker ingests " + MESSAGES + " mail messages into PostgreSQL and S3");
    con.kv(
        "synthetic mailbox",
        Console.count(MESSAGES)
            + " messages, 1 to 4 recipients each, "
            + Console.count(attachments.size())
            + " attachments of 5 KiB to 200 KiB ("
            + Console.bytes(run.corpus.attachmentBytes())
            + ")");
    checkTlsSession();
    TlsRefusals.show(run);
    box.createTables(ds, crypto);
    describeSchema();

    int mark = run.kms.trail().size();
    long t = System.nanoTime();
    box.rawS3.createBucket(r -> r.bucket(Mailbox.BUCKET));
    uploadAttachments();
    insertRows();
    Cost cost = reportKmsCalls(mark, t);
    AtRest.show(run, box);
    return cost;
  }

  /** TLS to PostgreSQL: verified, and enforced. */
  private void checkTlsSession() throws SQLException {
    try (Statement s = box.worker.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
      rs.next();
      con.kv(
          "PostgreSQL connection",
          "sslmode=verify-full (CA "
              + run.servers.postgres.caCertificateFile().getFileName()
              + "), "
              + rs.getString(2)
              + " "
              + rs.getString(3));
      run.checks.expect(
          "the database session is TLS (pg_stat_ssl), verify-full against the server's CA",
          Checks.tlsSession(rs.getBoolean(1), rs.getString(2), rs.getString(3)));
    }
  }

  private void describeSchema() {
    con.kv(
        "table mail_message",
        "sender, recipients, subject, body: encrypted (bytea); sender_bidx: blind index");
    con.kv("table mail_attachment", "file_name encrypted; the bytes go to S3 under opaque keys");
    con.kv(
        "key context (sent to KMS, in CloudTrail)",
        Mailbox.MAIL.asMap()
            + " for rows, "
            + Mailbox.ATTACHMENTS.asMap()
            + " for S3, + panops:tenant");
    con.kv(
        "message AAD (never sent to KMS)",
        "tenant+table+column+row id, or bucket+object key: binds each value to its place");
    con.kv(
        "S3 server-side encryption",
        "off: S3Mock cannot check SSE-KMS under a customer key ARN (the S3 adapter's ITs do)");
  }

  private void uploadAttachments() throws Exception {
    long s3Start = System.nanoTime();
    box.inParallel(
        attachments,
        a ->
            box.s3.putObject(
                r -> r.bucket(Mailbox.BUCKET).key(a.objectKey(TENANT)).contentType(a.contentType()),
                RequestBody.fromBytes(a.content())));
    long s3Nanos = System.nanoTime() - s3Start;
    con.kv(
        "S3: attachments encrypted and stored",
        Console.count(attachments.size())
            + " objects, "
            + Console.bytes(run.corpus.attachmentBytes())
            + " in "
            + Console.ms(s3Nanos)
            + " ("
            + Walkthrough.S3_THREADS
            + " uploads at a time)");
  }

  /** Every message and attachment row, batched, in one transaction. */
  private void insertRows() throws SQLException {
    long dbStart = System.nanoTime();
    Connection worker = box.worker;
    worker.setAutoCommit(false);
    try (PreparedStatement pm = worker.prepareStatement(Mailbox.INSERT_MESSAGE);
        PreparedStatement pa = worker.prepareStatement(Mailbox.INSERT_ATTACHMENT)) {
      for (Message m : run.corpus.messages()) {
        box.bindMessage(pm, m);
        pm.addBatch();
        for (int i = 0; i < m.attachments().size(); i++) {
          bindAttachment(pa, m, i);
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
  }

  private void bindAttachment(PreparedStatement pa, Message m, int i) throws SQLException {
    Attachment a = m.attachments().get(i);
    pa.setObject(1, UUID.fromString(a.id()));
    pa.setObject(2, UUID.fromString(m.id()));
    pa.setString(3, TENANT);
    pa.setInt(4, i);
    box.fileNameCol.bind(pa, 5, a.fileName(), a.id());
    pa.setInt(6, a.size());
    pa.setString(7, a.objectKey(TENANT));
  }

  /** The KMS calls in the customer's trail since {@code mark}, against the values encrypted. */
  private Cost reportKmsCalls(int mark, long t) {
    List<TrailEvent> during = run.vendorTrailSince(mark);
    long dataCalls = during.stream().filter(e -> !Checks.isProbe(e)).count();
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
        dataCalls + " for data keys " + DemoRun.byOperation(during, e -> !Checks.isProbe(e)));
    con.kv(
        "",
        "+ "
            + probeCalls
            + " by the liveness probe "
            + DemoRun.byOperation(during, Checks::isProbe));
    run.checks.expect(
        "KMS is called per cached data key, not per record",
        Checks.kmsPerDataKey(dataCalls, values, 6));
    summarise(t, dataCalls, probeCalls, values);
    return new Cost(dataCalls, values);
  }

  private void summarise(long t, long dataCalls, long probeCalls, long values) {
    run.summaryLine(
        "ingested",
        MESSAGES
            + " messages, "
            + attachments.size()
            + " attachments ("
            + Console.bytes(run.corpus.attachmentBytes())
            + ") in "
            + Console.since(t));
    run.summaryLine(
        "KMS calls for that",
        dataCalls
            + " for data keys (+"
            + probeCalls
            + " probe) for "
            + Console.count(values)
            + " values");
  }
}
