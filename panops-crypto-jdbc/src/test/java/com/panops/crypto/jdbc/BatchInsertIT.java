package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantKeys;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BatchInsertIT {
  private static DataSource ds;

  @BeforeAll
  static void setUp() throws SQLException {
    ds = JdbcTestEnvironment.dataSource();
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS batch_msg",
        "CREATE TABLE batch_msg (id text PRIMARY KEY, sender bytea, text bytea)");
  }

  private static long kmsCalls(String keyArn, String operation) {
    return JdbcTestEnvironment.countTrail(
        e -> keyArn.equals(e.keyId()) && operation.equals(e.eventName()));
  }

  @Test
  void tenThousandRowBatch_makesOneGenerateDataKeyCall_notOnePerRow() throws SQLException {
    String key = JdbcTestEnvironment.newKey("batch");
    try (PanopsCrypto crypto = JdbcTestEnvironment.crypto(Map.of("acme", TenantKeys.of(key)))) {
      EncryptedColumn sender =
          EncryptedColumn.builder(crypto.tenant("acme"))
              .table("batch_msg")
              .column("sender")
              .build();
      EncryptedColumn text =
          EncryptedColumn.builder(crypto.tenant("acme")).table("batch_msg").column("text").build();
      int rows = 10_000;
      long started = System.nanoTime();
      try (Connection c = ds.getConnection()) {
        c.setAutoCommit(false);
        try (PreparedStatement ps =
            c.prepareStatement("INSERT INTO batch_msg (id, sender, text) VALUES (?, ?, ?)")) {
          for (int i = 0; i < rows; i++) {
            String id = "m" + i;
            ps.setString(1, id);
            sender.bind(ps, 2, "user" + (i % 100) + "@example.com", id);
            text.bind(ps, 3, "message number " + i, id);
            ps.addBatch();
            if (i % 1000 == 999) {
              ps.executeBatch();
            }
          }
          ps.executeBatch();
        }
        c.commit();
      }
      long elapsedMs = (System.nanoTime() - started) / 1_000_000;

      // 20,000 values, one key context (table=batch_msg): one data key from KMS.
      assertEquals(1, kmsCalls(key, "GenerateDataKey"));
      // Decrypts are only the liveness probe's canaries: about one per probe interval.
      long decrypts = kmsCalls(key, "Decrypt");
      long probeBound = elapsedMs / JdbcTestEnvironment.PROBE_INTERVAL.toMillis() + 3;
      assertTrue(decrypts <= probeBound, decrypts + " Decrypt calls in " + elapsedMs + " ms");

      long generateBeforeRead = kmsCalls(key, "GenerateDataKey");
      int read = 0;
      try (Connection c = ds.getConnection();
          PreparedStatement ps = c.prepareStatement("SELECT id, sender, text FROM batch_msg");
          ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String id = rs.getString(1);
          int i = Integer.parseInt(id.substring(1));
          assertEquals("user" + (i % 100) + "@example.com", sender.getString(rs, 2, id));
          assertEquals("message number " + i, text.getString(rs, 3, id));
          read++;
        }
      }
      assertEquals(rows, read);
      // reading is served by the data key seeded at encryption: no KMS Decrypt per row either
      assertEquals(generateBeforeRead, kmsCalls(key, "GenerateDataKey"));
    }
  }

  @Test
  void encryptionFailureMidBatch_throwsBeforeExecuteBatch_andATransactionWritesNothing()
      throws SQLException {
    String key = JdbcTestEnvironment.newKey("batch failure");
    try (PanopsCrypto crypto = JdbcTestEnvironment.crypto(Map.of("acme", TenantKeys.of(key)))) {
      EncryptedColumn text =
          EncryptedColumn.builder(crypto.tenant("acme")).table("batch_msg").column("text").build();
      SQLException failure = null;
      int added = 0;
      try (Connection c = ds.getConnection()) {
        c.setAutoCommit(false);
        try (PreparedStatement ps =
            c.prepareStatement("INSERT INTO batch_msg (id, sender, text) VALUES (?, NULL, ?)")) {
          for (int i = 0; i < 1000; i++) {
            if (i == 500) {
              JdbcTestEnvironment.kms().disableKey(key); // the customer pulls the key mid-batch
              // a probe already in flight may still have succeeded: probe until one sees it
              long deadline = System.nanoTime() + 5_000_000_000L;
              while (!crypto.isRevoked(key) && System.nanoTime() < deadline) {
                crypto.probe(key);
              }
              assertTrue(crypto.isRevoked(key));
            }
            String id = "f" + i;
            ps.setString(1, id);
            try {
              text.bind(ps, 2, "value " + i, id);
            } catch (SQLException e) {
              failure = e;
              break;
            }
            ps.addBatch();
            added++;
          }
          assertEquals(500, added);
          assertTrue(failure != null, "the bind after the revocation fails");
          // an application that sends what it has anyway: the rows really reach the server...
          assertEquals(500, ps.executeBatch().length);
          try (PreparedStatement count =
                  c.prepareStatement("SELECT count(*) FROM batch_msg WHERE id LIKE 'f%'");
              ResultSet rs = count.executeQuery()) {
            rs.next();
            assertEquals(500, rs.getInt(1), "inside the transaction");
          }
          c.rollback(); // ...and the transaction's rollback takes them back
        }
      } finally {
        JdbcTestEnvironment.kms().enableKey(key);
      }
      assertEquals(SqlStates.KEY_REVOKED, failure.getSQLState());
      KeyRevokedException cause = assertInstanceOf(KeyRevokedException.class, failure.getCause());
      assertEquals(key, cause.keyArn());
      assertEquals(RevocationReason.DISABLED, cause.reason());
      assertTrue(failure.getMessage().contains(key), failure.getMessage());
      try (Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement("SELECT count(*) FROM batch_msg WHERE id LIKE 'f%'");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertEquals(0, rs.getInt(1));
      }
    }
  }
}
