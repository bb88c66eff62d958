package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.format.CompactFormat;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * CMK migration of compact values in O(data keys): the registry's rows are re-wrapped with KMS
 * {@code ReEncrypt}, in batches, with compare-and-set, and no data row is touched. The run is
 * interrupted and resumed; every value stays readable throughout and after the old CMK is gone; the
 * LocalKms trail shows exactly one {@code ReEncrypt} per registry row.
 *
 * <p>Size: {@code -Dcompact.rows} rows (default 20,000) under {@code -Dcompact.keys} data keys
 * (default 40); {@code ColumnRotation} of version-1 values is timed beside it on {@code
 * -Dcompact.rotationRows} rows (default 5,000). The times are printed, not asserted (speed belongs
 * to benchmarks/); run by hand with 1,000,000 rows and 500 keys for the figures in the report.
 */
class RegistryRewrapIT {
  private static final int ROWS = Integer.getInteger("compact.rows", 20_000);
  private static final int KEYS = Integer.getInteger("compact.keys", 40);
  private static final int ROTATION_ROWS = Integer.getInteger("compact.rotationRows", 5_000);
  private final DataSource ds = JdbcTestEnvironment.dataSource();

  private void fill(String table, EncryptedColumn col, int rows) throws SQLException {
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement("INSERT INTO " + table + " (id, subject) VALUES (?, ?)")) {
        for (int i = 1; i <= rows; i++) {
          ps.setLong(1, i);
          col.bind(ps, 2, "subject line " + i, Long.toString(i));
          ps.addBatch();
          if (i % 1000 == 0 || i == rows) {
            ps.executeBatch();
          }
        }
      }
      c.commit();
    }
  }

  /** A digest of every data row's version and bytes: equal before and after = no row touched. */
  private String fingerprint(String table) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT md5(string_agg(xmin::text || ':' || md5(subject), ',' ORDER BY id)) FROM "
                    + table);
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getString(1);
    }
  }

  private long registryRows(String tenant, String cmk) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT count(*) FROM "
                    + PostgresDataKeyRegistry.TABLE
                    + " WHERE tenant_id = ?"
                    + (cmk == null ? "" : " AND cmk_arn = ?"))) {
      ps.setString(1, tenant);
      if (cmk != null) {
        ps.setString(2, cmk);
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** Reads every row (or every {@code step}th) and checks its plaintext. */
  private void readAll(String table, EncryptedColumn col, int rows, int step) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT id, subject FROM " + table + " WHERE id % " + step + " = 0 ORDER BY id")) {
      ps.setFetchSize(5000);
      c.setAutoCommit(false);
      int n = 0;
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          long id = rs.getLong(1);
          assertEquals("subject line " + id, col.getString(rs, 2, Long.toString(id)));
          n++;
        }
      }
      c.commit();
      assertEquals(rows / step, n);
    }
  }

  private static long reEncrypts(String cmk) {
    return JdbcTestEnvironment.countTrail(
        e ->
            "ReEncrypt".equals(e.eventName())
                && (cmk.equals(e.destinationKeyId()) || cmk.equals(e.keyId())));
  }

  @Test
  void rewrap_interruptedAndResumed_keepsEveryValueReadable_withOneReEncryptPerRegistryRow()
      throws Exception {
    String tenant = "rw-" + UUID.randomUUID();
    CmkMove move = new CmkMove(tenant, "rw");
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS rw_mail",
        "CREATE TABLE rw_mail (id bigint PRIMARY KEY, subject bytea NOT NULL)");
    PostgresDataKeyRegistry registry = CompactTestSupport.registry();
    CompactTestSupport.FreezableRegistry writes =
        new CompactTestSupport.FreezableRegistry(registry);
    try (PanopsCrypto crypto = CompactTestSupport.crypto(move::keysOf, ROWS / KEYS, writes)) {
      EncryptedColumn col = JdbcTestEnvironment.subject(crypto, tenant, "rw_mail");
      long t0 = System.nanoTime();
      fill("rw_mail", col, ROWS);
      long fillMs = (System.nanoTime() - t0) / 1_000_000;
      writes.freeze(); // no successor registers after the count
      long rows = registryRows(tenant, null);
      assertTrue(rows >= KEYS && rows <= KEYS + 3, "registry rows: " + rows);
      String before = fingerprint("rw_mail");

      move.moveToNewCmk();
      readAll("rw_mail", col, ROWS, 97); // this reader caches rows that name the old CMK
      long reBefore = reEncrypts(move.newCmk);

      // interrupted after two batches
      RuntimeException stop = new IllegalStateException("interrupted");
      PostgresDataKeyRegistry.Rewrap interrupted =
          registry
              .rewrap(crypto, tenant)
              .batchSize(7)
              .progressListener(
                  p -> {
                    if (p.batches() == 2) {
                      throw stop;
                    }
                  });
      assertSame(stop, assertThrows(IllegalStateException.class, interrupted::run));
      assertEquals(14, registryRows(tenant, move.newCmk), "two batches committed");
      readAll("rw_mail", col, ROWS, 13); // half-migrated: everything reads

      long t1 = System.nanoTime();
      PostgresDataKeyRegistry.RewrapProgress p =
          registry.rewrap(crypto, tenant).batchSize(100).run();
      long rewrapMs = (System.nanoTime() - t1) / 1_000_000;
      assertEquals(rows - 14, p.rewrapped());
      assertEquals(0, p.changedConcurrently());
      assertEquals(rows, registryRows(tenant, move.newCmk));
      assertEquals(rows, reEncrypts(move.newCmk) - reBefore, "KMS ReEncrypt calls = registry rows");
      assertEquals(before, fingerprint("rw_mail"), "no data row was touched");
      assertEquals(0, registry.rewrap(crypto, tenant).run().rewrapped(), "nothing left");

      // the old CMK goes away: the cached rows are re-read once, every value reads
      move.dropOldCmk();
      JdbcTestEnvironment.kms().disableKey(move.oldCmk);
      readAll("rw_mail", col, ROWS, 1);
      try (PanopsCrypto fresh = CompactTestSupport.crypto(move::keysOf, 1L << 24)) {
        readAll("rw_mail", JdbcTestEnvironment.subject(fresh, tenant, "rw_mail"), ROWS, 1);
      }
      System.out.printf(
          "registry re-wrap: %d rows, %d registry rows; insert %d ms; re-wrap of %d rows %d ms"
              + " (%d ReEncrypt calls); data rows touched: 0%n",
          ROWS, rows, fillMs, rows - 14, rewrapMs, rows);
    }
  }

  /**
   * One bad row must not block the migration (a run that stopped at the first row it could not
   * re-wrap would stop there every time, since every run starts from the smallest key id): a
   * malformed row a registry writer inserted with key id {@code Long.MIN_VALUE}, and a row altered
   * to name a CMK the directory does not have, are skipped and reported; every other row moves; the
   * run still ends with an error so nobody retires the old CMK.
   */
  @Test
  void rewrap_skipsRowsItCannotReWrap_movesTheOthers_andReportsTheSkippedKeyIds() throws Exception {
    String tenant = "rw-bad-" + UUID.randomUUID();
    CmkMove move = new CmkMove(tenant, "rw-bad");
    PostgresDataKeyRegistry registry = CompactTestSupport.registry();
    CompactTestSupport.FreezableRegistry writes =
        new CompactTestSupport.FreezableRegistry(registry);
    String t = PostgresDataKeyRegistry.TABLE;
    try (PanopsCrypto crypto = CompactTestSupport.crypto(move::keysOf, 2, writes)) {
      EncryptedColumn col = JdbcTestEnvironment.subject(crypto, tenant, "rw_bad");
      List<byte[]> values = new java.util.ArrayList<>();
      for (int i = 0; i < 12; i++) {
        values.add(col.encrypt(("s" + i).getBytes(StandardCharsets.UTF_8), "r" + i));
      }
      writes.freeze(); // no successor registers after the count
      long rows = registryRows(tenant, null);
      assertTrue(rows >= 6, "registry rows: " + rows);
      long altered = CompactFormat.keyId(values.get(5));
      JdbcTestEnvironment.exec(
          "INSERT INTO "
              + t
              + " (tenant_id, key_id, cmk_arn, encrypted_data_key, key_context, suite, commitment,"
              + " created_at) SELECT tenant_id, "
              + Long.MIN_VALUE
              + ", cmk_arn, encrypted_data_key, key_context, suite,"
              + " substring(commitment FROM 1 FOR 31), now() FROM "
              + t
              + " WHERE tenant_id = '"
              + tenant
              + "' AND key_id = "
              + altered,
          "UPDATE "
              + t
              + " SET cmk_arn = 'arn:aws:kms:us-east-1:111122223333:key/not-in-directory'"
              + " WHERE tenant_id = '"
              + tenant
              + "' AND key_id = "
              + altered);
      List<Long> expected = List.of(Long.MIN_VALUE, altered);

      move.moveToNewCmk();
      List<PostgresDataKeyRegistry.RewrapProgress> seen = new java.util.ArrayList<>();
      PostgresDataKeyRegistry.RewrapIncompleteException e =
          assertThrows(
              PostgresDataKeyRegistry.RewrapIncompleteException.class,
              () -> registry.rewrap(crypto, tenant).batchSize(2).progressListener(seen::add).run());
      assertEquals(SqlStates.INTEGRITY, e.getSQLState(), e.getMessage());
      assertEquals(expected, e.progress().failedKeyIds());
      assertEquals(2, e.progress().failedCount());
      assertFalse(e.progress().complete());
      assertEquals(rows - 1, e.progress().rewrapped(), "every other row moved");
      assertTrue(e.getMessage().contains(String.format("%016x", altered)), e.getMessage());
      assertTrue(e.getMessage().contains("8000000000000000"), e.getMessage());
      assertEquals(expected, seen.get(seen.size() - 1).failedKeyIds(), "listener saw them");
      assertEquals(rows - 1, registryRows(tenant, move.newCmk));

      // the old CMK leaves: every value not under the altered row still reads
      move.dropOldCmk();
      for (int i = 0; i < values.size(); i++) {
        byte[] v = values.get(i);
        String rowKey = "r" + i;
        if (CompactFormat.keyId(v) == altered) {
          SQLException bad = assertThrows(SQLException.class, () -> col.decrypt(v, rowKey));
          assertEquals(SqlStates.INTEGRITY, bad.getSQLState(), bad.getMessage());
        } else {
          assertEquals("s" + i, new String(col.decrypt(v, rowKey), StandardCharsets.UTF_8));
        }
      }

      // a second run retries only the bad rows, moves nothing, and still says so
      PostgresDataKeyRegistry.RewrapIncompleteException again =
          assertThrows(
              PostgresDataKeyRegistry.RewrapIncompleteException.class,
              () -> registry.rewrap(crypto, tenant).run());
      assertEquals(expected, again.progress().failedKeyIds());
      assertEquals(0, again.progress().rewrapped());
    }
  }

  @Test
  void columnRotation_ofTheSameKindOfTable_forComparison() throws Exception {
    String tenant = "rot-" + UUID.randomUUID();
    CmkMove move = new CmkMove(tenant, "rot-cmp");
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS rot_cmp",
        "CREATE TABLE rot_cmp (id bigint PRIMARY KEY, subject bytea NOT NULL)");
    try (PanopsCrypto crypto =
        CompactTestSupport.crypto(move::keysOf, Math.max(1, ROTATION_ROWS / KEYS))) {
      EncryptedColumn v1 = CompactTestSupport.framedSubject(crypto, tenant, "rot_cmp");
      fill("rot_cmp", v1, ROTATION_ROWS);
      move.moveToNewCmk();
      long t0 = System.nanoTime();
      ColumnRotation.RotationProgress p =
          ColumnRotation.builder(ds, crypto, tenant)
              .table("rot_cmp")
              .primaryKey("id")
              .column(v1)
              .batchSize(500)
              .build()
              .run();
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(ROTATION_ROWS, p.rewrapped(), "every v1 row rewritten");
      readAll("rot_cmp", v1, ROTATION_ROWS, 7);
      System.out.printf(
          "ColumnRotation (v1): %d rows rewritten in %d ms (%.1f µs/row)%n",
          ROTATION_ROWS, ms, ms * 1000.0 / ROTATION_ROWS);
    }
  }
}
