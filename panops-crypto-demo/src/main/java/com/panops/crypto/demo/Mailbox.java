package com.panops.crypto.demo;

import com.panops.crypto.KeyContext;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.demo.MailCorpus.Attachment;
import com.panops.crypto.demo.MailCorpus.Message;
import com.panops.crypto.jdbc.BlindIndex;
import com.panops.crypto.jdbc.BlindIndexKeyStore;
import com.panops.crypto.jdbc.EncryptedColumn;
import com.panops.crypto.jdbc.ValueFormat;
import com.panops.crypto.s3.EncryptingS3Client;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import javax.sql.DataSource;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * The worker's store of the customer's mail: the two tables on its one TLS connection, their
 * encrypted columns and the sender's blind index, and the bucket, reached through the encrypting S3
 * client (and a plain one, to see what the bucket's readers see). Reads here decrypt and compare
 * with the synthetic mailbox.
 */
final class Mailbox {
  static final String BUCKET = "acme-corp-mail";
  static final KeyContext MAIL = KeyContext.of("class", "mail");
  static final KeyContext ATTACHMENTS = KeyContext.of("class", "mail-attachment");

  static final String INSERT_MESSAGE =
      "INSERT INTO mail_message (id, tenant_id, received_at, sender, sender_bidx, recipients,"
          + " subject, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
  static final String INSERT_ATTACHMENT =
      "INSERT INTO mail_attachment (id, message_id, tenant_id, ordinal, file_name, size_bytes,"
          + " s3_key) VALUES (?, ?, ?, ?, ?, ?, ?)";
  private static final String SELECT_MESSAGE =
      "SELECT id, sender, recipients, subject, body FROM mail_message"
          + " WHERE tenant_id = ? AND id = ?";

  private static final String TENANT = Walkthrough.TENANT;

  final DemoRun run;
  final Connection worker;
  final S3Client rawS3;
  final EncryptingS3Client s3;
  private final ExecutorService pool;
  private final PreparedStatement selectMessage;

  /** The smallest attachment (the first, of equal sizes): the one the kill-switch reads fetch. */
  final Attachment smallest;

  EncryptedColumn senderCol;
  EncryptedColumn recipientsCol;
  EncryptedColumn subjectCol;
  EncryptedColumn bodyCol;
  EncryptedColumn fileNameCol;
  BlindIndex senderIdx;

  /**
   * @param pool the worker's S3 threads
   */
  Mailbox(
      DemoRun run, Connection worker, S3Client rawS3, EncryptingS3Client s3, ExecutorService pool)
      throws SQLException {
    this.run = run;
    this.worker = worker;
    this.rawS3 = rawS3;
    this.s3 = s3;
    this.pool = pool;
    this.selectMessage = worker.prepareStatement(SELECT_MESSAGE);
    this.smallest = smallest(run.corpus.attachments());
  }

  /** Creates the mail tables and the blind-index key table; defines the columns and the index. */
  void createTables(DataSource ds, PanopsCrypto crypto) throws SQLException {
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
            .valueFormat(ValueFormat.FRAMED)
            .build();
    senderIdx =
        BlindIndex.builder(tenant, keyStore)
            .table("mail_message")
            .column("sender")
            .normalizer(BlindIndex.Normalizer.caseInsensitive())
            .build();
  }

  private static EncryptedColumn column(TenantCrypto tenant, String table, String column) {
    return EncryptedColumn.builder(tenant).table(table).column(column).keyContext(MAIL).build();
  }

  private static Attachment smallest(List<Attachment> attachments) {
    Attachment smallest = null;
    for (Attachment a : attachments) {
      if (smallest == null || a.size() < smallest.size()) {
        smallest = a;
      }
    }
    return smallest;
  }

  void bindMessage(PreparedStatement ps, Message m) throws SQLException {
    ps.setObject(1, UUID.fromString(m.id()));
    ps.setString(2, TENANT);
    ps.setObject(3, OffsetDateTime.ofInstant(m.receivedAt(), ZoneOffset.UTC));
    senderCol.bind(ps, 4, m.sender(), m.id());
    senderIdx.bind(ps, 5, m.sender());
    recipientsCol.bind(ps, 6, String.join(", ", m.recipients()), m.id());
    subjectCol.bind(ps, 7, m.subject(), m.id());
    bodyCol.bind(ps, 8, m.body(), m.id());
  }

  /** The row (id, sender, recipients, subject, body) decrypts to its synthetic message. */
  boolean matches(ResultSet rs) throws SQLException {
    String id = rs.getString("id");
    Message m = run.message(id);
    return m != null
        && m.sender().equals(senderCol.getString(rs, "sender", id))
        && String.join(", ", m.recipients()).equals(recipientsCol.getString(rs, "recipients", id))
        && m.subject().equals(subjectCol.getString(rs, "subject", id))
        && m.body().equals(bodyCol.getString(rs, "body", id));
  }

  /** Reads and decrypts one message row through the worker's connection. */
  void readRow(String id) throws SQLException {
    selectMessage.setString(1, TENANT);
    selectMessage.setObject(2, UUID.fromString(id));
    try (ResultSet rs = selectMessage.executeQuery()) {
      if (!rs.next() || !matches(rs)) {
        throw new IllegalStateException("message read back differently");
      }
    }
  }

  /** Reads and decrypts the {@code i}-th synthetic message (wrapping around). */
  void readMessage(int i) throws SQLException {
    readRow(run.corpus.messages().get(i % Walkthrough.MESSAGES).id());
  }

  void getObject(Attachment a) {
    var got = s3.getObjectAsBytes(r -> r.bucket(BUCKET).key(a.objectKey(TENANT)));
    GetObjectResponse resp = got.response();
    if (got.asByteArray().length != a.size() || resp == null) {
      throw new IllegalStateException("attachment read back differently");
    }
  }

  long countMessages() throws SQLException {
    try (Statement s = worker.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM mail_message")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Runs {@code task} for every item on the worker's S3 threads; rethrows the first failure. */
  <T> void inParallel(List<T> items, Consumer<T> task) throws Exception {
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
