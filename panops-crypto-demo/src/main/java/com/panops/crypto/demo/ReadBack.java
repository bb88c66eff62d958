package com.panops.crypto.demo;

import com.panops.crypto.demo.MailCorpus.Attachment;
import com.panops.crypto.testkit.TrailEvent;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Step 3 (and 4e, after the kill switches): every message and attachment is read back, decrypted
 * and compared with the synthetic mailbox, and the KMS calls this took are counted; in step 3 one
 * sender's messages are also found through the blind index, typed in another case.
 */
final class ReadBack {
  private static final String TENANT = Walkthrough.TENANT;
  private static final int MESSAGES = Walkthrough.MESSAGES;

  private final DemoRun run;
  private final Mailbox box;
  private final Console con;

  private int ok;
  private int bad;
  private int aOk;
  private int aBad;
  private final AtomicLong bytes = new AtomicLong();

  private ReadBack(DemoRun run, Mailbox box) {
    this.run = run;
    this.box = box;
    this.con = run.con;
  }

  /**
   * Reads every message and attachment back and compares; as step {@code step} (with its title, and
   * the blind-index lookup) if it is above 0.
   *
   * @return {messages, attachments} read back identical
   */
  static int[] run(DemoRun run, Mailbox box, int step, String title) throws Exception {
    return new ReadBack(run, box).readBack(step, title);
  }

  private int[] readBack(int step, String title) throws Exception {
    if (step > 0) {
      con.step(step, title);
    }
    int mark = run.kms.trail().size();
    long t = System.nanoTime();
    readMessages();
    long dbNanos = System.nanoTime() - t;
    long t2 = System.nanoTime();
    fetchAttachments(attachmentRows());
    long s3Nanos = System.nanoTime() - t2;
    report(mark, dbNanos, s3Nanos);
    if (step > 0) {
      lookUpSender();
    }
    return new int[] {ok, aOk};
  }

  private void readMessages() throws SQLException {
    try (PreparedStatement ps =
        box.worker.prepareStatement(
            "SELECT id, sender, recipients, subject, body FROM mail_message WHERE tenant_id = ?")) {
      ps.setString(1, TENANT);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (box.matches(rs)) {
            ok++;
          } else {
            bad++;
          }
        }
      }
    }
  }

  /** The attachment rows whose file name, size and object key are as written. */
  private List<Attachment> attachmentRows() throws SQLException {
    Map<String, Attachment> attachmentsById = new HashMap<>();
    for (Attachment a : run.corpus.attachments()) {
      attachmentsById.put(a.id(), a);
    }
    List<Attachment> rows = new ArrayList<>();
    try (PreparedStatement ps =
        box.worker.prepareStatement(
            "SELECT id, file_name, size_bytes, s3_key FROM mail_attachment WHERE tenant_id = ?")) {
      ps.setString(1, TENANT);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String id = rs.getString(1);
          Attachment a = attachmentsById.get(id);
          if (a != null
              && a.fileName().equals(box.fileNameCol.getString(rs, 2, id))
              && a.size() == rs.getInt(3)
              && a.objectKey(TENANT).equals(rs.getString(4))) {
            rows.add(a);
          } else {
            aBad++;
          }
        }
      }
    }
    return rows;
  }

  /** Fetches and decrypts each row's object and compares its SHA-256 with the original's. */
  private void fetchAttachments(List<Attachment> rows) throws Exception {
    AtomicInteger same = new AtomicInteger();
    box.inParallel(
        rows,
        a -> {
          byte[] content =
              box.s3
                  .getObjectAsBytes(r -> r.bucket(Mailbox.BUCKET).key(a.objectKey(TENANT)))
                  .asByteArray();
          bytes.addAndGet(content.length);
          if (MailCorpus.sha256(content).equals(MailCorpus.sha256(a.content()))) {
            same.incrementAndGet();
          }
        });
    aOk = same.get();
    aBad += rows.size() - aOk;
  }

  private void report(int mark, long dbNanos, long s3Nanos) {
    List<TrailEvent> during = run.vendorTrailSince(mark);
    long dataCalls = during.stream().filter(e -> !Checks.isProbe(e)).count();
    int attachments = run.corpus.attachments().size();
    con.kv(
        "  messages decrypted and compared",
        ok + " of " + MESSAGES + " identical, " + bad + " different, in " + Console.ms(dbNanos));
    con.kv(
        "  attachments fetched, decrypted, compared",
        aOk
            + " of "
            + attachments
            + " identical (SHA-256), "
            + Console.bytes(bytes.get())
            + " in "
            + Console.ms(s3Nanos));
    con.kv(
        "  KMS calls for data keys meanwhile",
        dataCalls == 0
            ? "0: every data key came from the cache"
            : dataCalls + " " + DemoRun.byOperation(during, e -> !Checks.isProbe(e)));
    run.checks.expect(
        "every message and attachment reads back exactly as written",
        Checks.readBack(ok, bad, MESSAGES, aOk, aBad, attachments));
  }

  private void lookUpSender() throws SQLException {
    String sender = run.corpus.busiestSender();
    // typed differently from how it is stored: the index normalises case
    String typed =
        Character.toUpperCase(sender.charAt(0))
            + sender.substring(1, sender.indexOf('@'))
            + sender.substring(sender.indexOf('@')).toUpperCase(Locale.ROOT);
    Set<String> expected = run.corpus.messagesFrom(sender);
    long t = System.nanoTime();
    Set<String> found = new LinkedHashSet<>();
    String example = null;
    boolean sendersMatch = true;
    try (PreparedStatement ps =
        box.worker.prepareStatement(
            "SELECT id, sender, subject FROM mail_message WHERE tenant_id = ? AND sender_bidx = ?"
                + " ORDER BY received_at")) {
      ps.setString(1, TENANT);
      box.senderIdx.bind(ps, 2, typed);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String id = rs.getString(1);
          found.add(id);
          sendersMatch &= box.senderCol.getString(rs, 2, id).equalsIgnoreCase(sender);
          if (example == null) {
            example = box.subjectCol.getString(rs, 3, id);
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
    run.checks.expect(
        "the blind-index lookup returns exactly that sender's messages",
        Checks.lookup(found, expected, sendersMatch));
  }
}
