package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.format.MessageHeader;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * A tenant moves to a new CMK while the JDBC objects built before the move keep running (as they do
 * across a fleet): they follow the tenant directory on every call.
 */
class CmkMigrationIT {
  private final DataSource ds = JdbcTestEnvironment.dataSource();

  private static void createSubjectTable(String table) throws SQLException {
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS " + table,
        "CREATE TABLE " + table + " (id bigint PRIMARY KEY, subject bytea)");
  }

  private static String cmkOf(byte[] stored) {
    return MessageHeader.parse(stored, 0, stored.length).keyArn();
  }

  private byte[] stored(String table, String column, long id) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT " + column + " FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBytes(1);
      }
    }
  }

  private void insert(String table, EncryptedColumn col, long id, String value)
      throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("INSERT INTO " + table + " (id, subject) VALUES (?, ?)")) {
      ps.setLong(1, id);
      col.bind(ps, 2, value, Long.toString(id));
      ps.executeUpdate();
    }
  }

  private String read(String table, EncryptedColumn col, long id) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT subject FROM " + table + " WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return col.getString(rs, 1, Long.toString(id));
      }
    }
  }

  @Test
  void anEncryptedColumnBuiltBeforeTheMove_encryptsUnderTheNewCmk_andReadsBoth()
      throws SQLException {
    CmkMove move = new CmkMove("t", "mig");
    createSubjectTable("mig_col");
    try (PanopsCrypto crypto = JdbcTestEnvironment.crypto(move)) {
      EncryptedColumn live = JdbcTestEnvironment.subject(crypto, "t", "mig_col");
      EncryptedColumn pinned =
          EncryptedColumn.builder(crypto.tenant("t")).table("mig_col").column("subject").build();
      insert("mig_col", live, 1, "before");
      assertEquals(move.oldCmk, cmkOf(stored("mig_col", "subject", 1)));

      move.moveToNewCmk();
      insert("mig_col", live, 2, "after");
      assertEquals(move.newCmk, cmkOf(stored("mig_col", "subject", 2)), "the live column follows");
      insert("mig_col", pinned, 3, "pinned");
      assertEquals(move.oldCmk, cmkOf(stored("mig_col", "subject", 3)), "a pinned one does not");
      assertEquals("before", read("mig_col", live, 1));
      assertEquals("after", read("mig_col", live, 2));

      // rotate with a rotation built on the same live reference, then drop the old CMK
      ColumnRotation.RotationProgress p =
          ColumnRotation.builder(ds, crypto, "t").primaryKey("id").column(live).build().run();
      assertEquals(2, p.rewrapped());
      assertEquals(1, p.alreadyCurrent());
      move.dropOldCmk();
      for (long id = 1; id <= 3; id++) {
        assertEquals(move.newCmk, cmkOf(stored("mig_col", "subject", id)));
      }
      assertEquals("pinned", read("mig_col", live, 3));
    }
  }

  @Test
  void aBlindIndexWhoseKeyWasRewrappedByAnotherInstance_rereadsItOnce_afterTheOldCmkIsGone()
      throws SQLException {
    CmkMove move = new CmkMove("t", "bidx");
    BlindIndexKeyStore storeA = BlindIndexKeyStore.on(ds);
    storeA.createTableIfMissing();
    BlindIndexKeyStore storeB = BlindIndexKeyStore.on(ds); // another worker of the fleet
    try (PanopsCrypto crypto = JdbcTestEnvironment.crypto(move)) {
      BlindIndex onA =
          BlindIndex.builder(crypto, "t", storeA).table("mig_bidx").column("email").build();
      byte[] before = onA.compute("alice@example.com"); // A caches the wrapped key (old CMK)

      move.moveToNewCmk();
      assertEquals(1, storeB.rewrapKeys(crypto.tenant("t")));
      move.dropOldCmk(); // the old CMK leaves the directory
      JdbcTestEnvironment.kms().disableKey(move.oldCmk);

      assertArrayEquals(before, onA.compute("alice@example.com"), "same key, re-read once");
    }
  }

  @Test
  void aRotationStops_whenTheNewCmkIsRevokedMidRun_evenForDataKeysItAlreadyRewrapped()
      throws SQLException {
    CmkMove move = new CmkMove("t", "rot");
    createSubjectTable("mig_rot");
    try (PanopsCrypto crypto = JdbcTestEnvironment.crypto(move)) {
      EncryptedColumn col = JdbcTestEnvironment.subject(crypto, "t", "mig_rot");
      for (long id = 1; id <= 30; id++) {
        insert("mig_rot", col, id, "v" + id); // all share one cached data key
      }
      move.moveToNewCmk();
      ColumnRotation rotation =
          ColumnRotation.builder(ds, crypto, "t")
              .primaryKey("id")
              .column(col)
              .batchSize(10)
              .progressListener(
                  p -> {
                    if (p.batches() == 1) {
                      // the customer disables the new CMK right after the first batch
                      JdbcTestEnvironment.kms().disableKey(move.newCmk);
                      assertFalse(crypto.probe(move.newCmk));
                    }
                  })
              .build();
      SQLException e = assertThrows(SQLException.class, rotation::run);
      assertEquals(SqlStates.KEY_REVOKED, e.getSQLState(), e.getMessage());
      int moved = 0;
      for (long id = 1; id <= 30; id++) {
        if (cmkOf(stored("mig_rot", "subject", id)).equals(move.newCmk)) {
          moved++;
        }
      }
      assertEquals(10, moved, "only the first batch moved onto the new CMK");
    }
  }

  @Test
  void aBlindIndexLookupInsideATransaction_onAOneConnectionPool_needsNoSecondConnection()
      throws SQLException {
    String cmk = JdbcTestEnvironment.newKey("pool");
    BlindIndexKeyStore.on(ds).createTableIfMissing();
    HikariConfig cfg = new HikariConfig();
    cfg.setDataSource(ds);
    cfg.setMaximumPoolSize(1);
    cfg.setConnectionTimeout(1_000);
    try (PanopsCrypto crypto = JdbcTestEnvironment.crypto(Map.of("t", TenantKeys.of(cmk)));
        HikariDataSource pool = new HikariDataSource(cfg)) {
      BlindIndex startup =
          BlindIndex.builder(crypto, "t", BlindIndexKeyStore.on(pool))
              .table("pool_bidx")
              .column("email")
              .build();
      startup.ensureKey(); // at start-up: the key exists

      // a new instance (empty cache) used inside the caller's transaction, pool exhausted
      BlindIndex worker =
          BlindIndex.builder(crypto, "t", BlindIndexKeyStore.on(pool))
              .table("pool_bidx")
              .column("email")
              .build();
      try (Connection c = pool.getConnection()) {
        c.setAutoCommit(false);
        try (PreparedStatement ps = c.prepareStatement("SELECT ?::bytea")) {
          worker.bind(ps, 1, "bob@example.com");
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            assertArrayEquals(startup.compute("bob@example.com"), rs.getBytes(1));
          }
        }
        c.commit();
      }
    }
  }

  @Test
  void aValueAWriterReplacesBetweenTheReadAndTheUpdate_isLeftAlone_andCounted()
      throws SQLException {
    CmkMove move = new CmkMove("t", "cas");
    java.util.concurrent.atomic.AtomicBoolean armed =
        new java.util.concurrent.atomic.AtomicBoolean();
    AtomicReference<EncryptedColumn> writerColumn = new AtomicReference<>();
    createSubjectTable("mig_cas");
    // the directory is asked for the tenant's keys after the batch was read and before its
    // compare-and-set: a writer replaces row 2 exactly then
    PanopsCrypto crypto =
        JdbcTestEnvironment.crypto(
            id -> {
              if (armed.getAndSet(false)) {
                try (Connection c = ds.getConnection();
                    PreparedStatement ps =
                        c.prepareStatement("UPDATE mig_cas SET subject = ? WHERE id = 2")) {
                  writerColumn.get().bind(ps, 1, "the writer's", "2");
                  ps.executeUpdate();
                } catch (SQLException e) {
                  throw new IllegalStateException(e);
                }
              }
              return move.current();
            });
    try (crypto) {
      EncryptedColumn col = JdbcTestEnvironment.subject(crypto, "t", "mig_cas");
      writerColumn.set(col);
      for (long id = 1; id <= 3; id++) {
        insert("mig_cas", col, id, "v" + id);
      }
      move.moveToNewCmk();
      ColumnRotation rotation =
          ColumnRotation.builder(ds, crypto, "t").primaryKey("id").column(col).build();
      armed.set(true);
      ColumnRotation.RotationProgress p = rotation.run();
      assertFalse(armed.get(), "the writer ran");
      assertEquals(1, p.changedConcurrently());
      assertEquals(2, p.rewrapped());
      assertEquals("the writer's", read("mig_cas", col, 2), "the writer's value was kept");
      assertEquals(move.newCmk, cmkOf(stored("mig_cas", "subject", 2)));
      assertEquals("v1", read("mig_cas", col, 1));
      assertEquals("v3", read("mig_cas", col, 3));
    }
  }
}
