package com.panops.crypto.demo;

import com.panops.crypto.demo.MailCorpus.Attachment;
import com.panops.crypto.demo.MailCorpus.Message;
import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What someone with access to the database or the bucket sees: the encrypted columns hold no
 * plaintext and cost a small overhead per value (compact values against version-1 values measured
 * beside them), and the objects, read with a plain S3 client, are panops messages.
 */
final class AtRest {
  private final DemoRun run;
  private final Mailbox box;

  /** The four encrypted columns of mail_message: rows, bytes stored and plaintext bytes. */
  private int rows;

  private int leaks;
  private long stored;
  private long plain;
  private int compactMax;

  /** The version-1 file names of mail_attachment: values and their total overhead. */
  private int v1Values;

  private long v1Overhead;

  /** A sample of objects read with the plain S3 client. */
  private int objects;

  private int objectLeaks;
  private int marked;

  private AtRest(DemoRun run, Mailbox box) {
    this.run = run;
    this.box = box;
  }

  static void show(DemoRun run, Mailbox box) throws SQLException {
    AtRest a = new AtRest(run, box);
    a.scanMessages();
    a.scanFileNames();
    a.scanObjects();
    a.report();
  }

  private void scanMessages() throws SQLException {
    try (Statement s = box.worker.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT id, sender, recipients, subject, body FROM mail_message")) {
      while (rs.next()) {
        Message m = run.message(rs.getString(1));
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
  }

  private void scanFileNames() throws SQLException {
    Map<String, String> fileNames = new HashMap<>();
    run.corpus.attachments().forEach(a -> fileNames.put(a.id(), a.fileName()));
    try (Statement s = box.worker.createStatement();
        ResultSet rs = s.executeQuery("SELECT id, file_name FROM mail_attachment")) {
      while (rs.next()) {
        v1Values++;
        v1Overhead +=
            rs.getBytes(2).length
                - fileNames.get(rs.getString(1)).getBytes(StandardCharsets.UTF_8).length;
      }
    }
  }

  private void scanObjects() {
    List<Attachment> sample = run.corpus.attachments().subList(0, 10);
    for (Attachment a : sample) {
      var got =
          box.rawS3.getObjectAsBytes(
              r -> r.bucket(Mailbox.BUCKET).key(a.objectKey(Walkthrough.TENANT)));
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
  }

  private void report() {
    Console con = run.con;
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
                + " (mail_attachment.file_name, .valueFormat(FRAMED)): %.1f bytes",
            compactValues == 0 ? 0.0 : (double) (stored - plain) / compactValues,
            compactMax,
            v1Values == 0 ? 0.0 : (double) v1Overhead / v1Values));
    run.checks.expect(
        "compact values cost at most 40 bytes each (version 1 carries the wrapped key in each)",
        Checks.compactOverhead(compactValues, compactMax, v1Values, v1Overhead));
    run.checks.expect(
        "no plaintext in the database's encrypted columns",
        Checks.noPlaintext(rows, Walkthrough.MESSAGES, rows * 4, leaks));
    run.checks.expect(
        "S3 objects hold panops messages, not the attachments' bytes",
        Checks.objectsSealed(objects, objectLeaks, marked));
  }
}
