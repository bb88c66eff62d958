package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RegisteredKeyException;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.format.CompactFormat;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Compact values through the JDBC adapter, on TLS PostgreSQL with the PostgreSQL data-key registry
 * and LocalKms: the default with a registry, the overhead next to version 1's, one registry row per
 * data key, version 1 values in the same column, values moved to another row, column, table or
 * tenant, and registry rows altered or deleted.
 */
class CompactColumnIT {
  private static final DataSource ds = JdbcTestEnvironment.dataSource();
  private static String cmk;

  @BeforeAll
  static void setUp() throws SQLException {
    cmk = JdbcTestEnvironment.newKey("compact");
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS cc_mail",
        "DROP TABLE IF EXISTS cc_note",
        "CREATE TABLE cc_mail (id text PRIMARY KEY, tenant text, subject bytea, body bytea)",
        "CREATE TABLE cc_note (id text PRIMARY KEY, subject bytea)");
  }

  private static PanopsCrypto crypto() throws SQLException {
    return CompactTestSupport.crypto(
        Map.of("acme", TenantKeys.of(cmk), "globex", TenantKeys.of(cmk)));
  }

  private static void put(String table, String col, String id, byte[] stored) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO "
                    + table
                    + " (id, "
                    + col
                    + ") VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET "
                    + col
                    + " = EXCLUDED."
                    + col)) {
      ps.setString(1, id);
      ps.setBytes(2, stored);
      ps.executeUpdate();
    }
  }

  private static byte[] get(String table, String col, String id) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT " + col + " FROM " + table + " WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next());
        return rs.getBytes(1);
      }
    }
  }

  private static long registryRows(long keyId) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT count(*) FROM " + PostgresDataKeyRegistry.TABLE + " WHERE key_id = ?")) {
      ps.setLong(1, keyId);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  @Test
  void withARegistry_newColumnsWriteCompactValues_38BytesOverVersion1s_andReadBoth()
      throws Exception {
    try (PanopsCrypto crypto = crypto()) {
      EncryptedColumn subject = JdbcTestEnvironment.subject(crypto, "acme", "cc_mail");
      EncryptedColumn v1 = CompactTestSupport.framedSubject(crypto, "acme", "cc_mail");
      assertEquals(ValueFormat.COMPACT, subject.valueFormat(), "the default with a registry");
      String text = "Quarterly numbers";
      try (Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement("INSERT INTO cc_mail (id, subject) VALUES (?, ?)")) {
        for (int i = 0; i < 20; i++) {
          ps.setString(1, "m" + i);
          (i % 2 == 0 ? subject : v1).bind(ps, 2, text + " " + i, "m" + i);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      byte[] compactStored = get("cc_mail", "subject", "m0");
      byte[] v1Stored = get("cc_mail", "subject", "m1");
      int plain = (text + " 0").getBytes(StandardCharsets.UTF_8).length;
      assertEquals(plain + 38, compactStored.length, "compact overhead");
      assertEquals(1, v1Stored[0]);
      System.out.printf(
          "per-value overhead on LocalKms: compact %d bytes, version 1 %d bytes%n",
          compactStored.length - plain, v1Stored.length - plain);
      assertTrue(v1Stored.length - plain > 150, "v1 carries the wrapped data key");
      assertEquals(1, registryRows(CompactFormat.keyId(compactStored)), "registered once");

      try (Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement("SELECT id, subject FROM cc_mail WHERE id LIKE 'm%' ORDER BY id");
          ResultSet rs = ps.executeQuery()) {
        int n = 0;
        while (rs.next()) {
          String id = rs.getString(1);
          assertEquals(text + " " + id.substring(1), v1.getString(rs, 2, id), "both read both");
          assertEquals(text + " " + id.substring(1), subject.getString(rs, 2, id));
          n++;
        }
        assertEquals(20, n);
      }
      // a stream read of a compact value
      try (Connection c = ds.getConnection();
          PreparedStatement ps = c.prepareStatement("SELECT subject FROM cc_mail WHERE id = 'm0'");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        try (InputStream in = subject.getStream(rs, 1, "m0")) {
          assertEquals(text + " 0", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      // a fresh reader (empty caches) reads the registry once per data key
      try (PanopsCrypto reader = crypto()) {
        EncryptedColumn r = JdbcTestEnvironment.subject(reader, "acme", "cc_mail");
        assertEquals(text + " 4", r.getString(rsOf("cc_mail", "subject", "m4"), 1, "m4"));
      }
    }
  }

  private static ResultSet rsOf(String table, String col, String id) throws SQLException {
    Connection c = ds.getConnection();
    PreparedStatement ps = c.prepareStatement("SELECT " + col + " FROM " + table + " WHERE id = ?");
    ps.setString(1, id);
    ps.closeOnCompletion();
    ResultSet rs = ps.executeQuery();
    rs.next();
    return rs;
  }

  @Test
  void aCompactValueMovedToAnotherRowColumnTableOrTenant_failsIntegrity() throws Exception {
    try (PanopsCrypto crypto = crypto()) {
      EncryptedColumn subject = JdbcTestEnvironment.subject(crypto, "acme", "cc_mail");
      EncryptedColumn body =
          EncryptedColumn.builder(crypto, "acme").table("cc_mail").column("body").build();
      EncryptedColumn note =
          EncryptedColumn.builder(crypto, "acme")
              .table("cc_note")
              .column("subject")
              .keyContext(subject.keyContext())
              .build();
      EncryptedColumn globex = subject.withTenant(crypto, "globex");
      byte[] v = subject.encrypt("secret".getBytes(StandardCharsets.UTF_8), "x1");
      put("cc_mail", "subject", "x1", v);
      put("cc_mail", "subject", "x2", v); // another row
      put("cc_mail", "body", "x1", v); // another column
      put("cc_note", "subject", "x1", v); // another table
      assertEquals("secret", subject.getString(rsOf("cc_mail", "subject", "x1"), 1, "x1"));
      for (Runnable r :
          new Runnable[] {
            () ->
                expectIntegrity(() -> subject.getString(rsOf("cc_mail", "subject", "x2"), 1, "x2")),
            () -> expectIntegrity(() -> body.getString(rsOf("cc_mail", "body", "x1"), 1, "x1")),
            () -> expectIntegrity(() -> note.getString(rsOf("cc_note", "subject", "x1"), 1, "x1")),
            () -> expectIntegrity(() -> globex.getString(rsOf("cc_mail", "subject", "x1"), 1, "x1"))
          }) {
        r.run();
      }
    }
  }

  @Test
  void columnRotation_overAMixedColumn_rewrapsVersion1Values_andLeavesCompactOnesAlone()
      throws Exception {
    CmkMove move = new CmkMove("acme", "mixed");
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS cc_mixed",
        "CREATE TABLE cc_mixed (id text PRIMARY KEY, subject bytea)");
    try (PanopsCrypto crypto = CompactTestSupport.crypto(move::keysOf, 1L << 24)) {
      EncryptedColumn compact = JdbcTestEnvironment.subject(crypto, "acme", "cc_mixed");
      EncryptedColumn v1 = CompactTestSupport.framedSubject(crypto, "acme", "cc_mixed");
      for (int i = 0; i < 6; i++) {
        put(
            "cc_mixed",
            "subject",
            "k" + i,
            (i % 2 == 0 ? compact : v1)
                .encrypt(("v" + i).getBytes(StandardCharsets.UTF_8), "k" + i));
      }
      byte[] compactBefore = get("cc_mixed", "subject", "k0");
      move.moveToNewCmk();
      ColumnRotation.RotationProgress p =
          ColumnRotation.builder(ds, crypto, "acme")
              .table("cc_mixed")
              .primaryKey("id")
              .column(compact)
              .build()
              .run();
      assertEquals(3, p.rewrapped());
      assertEquals(3, p.alreadyCurrent(), "compact values are skipped");
      assertArrayEquals(compactBefore, get("cc_mixed", "subject", "k0"), "untouched");
      for (int i = 0; i < 6; i++) {
        assertEquals("v" + i, compact.getString(rsOf("cc_mixed", "subject", "k" + i), 1, "k" + i));
      }
    }
  }

  interface SqlCall {
    Object call() throws SQLException;
  }

  private static SQLException expectIntegrity(SqlCall c) {
    SQLException e = assertThrows(SQLException.class, c::call);
    assertEquals(SqlStates.INTEGRITY, e.getSQLState(), e.getMessage());
    return e;
  }

  @Test
  void aRegistryRowAlteredOrDeleted_failsClosed_namingTheKeyId() throws Exception {
    byte[] v;
    byte[] other;
    try (PanopsCrypto writer =
        CompactTestSupport.crypto(
            Map.of("acme", TenantKeys.of(cmk))::get, 1)) { // one value per data key
      EncryptedColumn subject = JdbcTestEnvironment.subject(writer, "acme", "cc_mail");
      v = subject.encrypt("kept".getBytes(StandardCharsets.UTF_8), "r1");
      other = subject.encrypt("other".getBytes(StandardCharsets.UTF_8), "r2");
    }
    put("cc_mail", "subject", "r1", v);
    long id = CompactFormat.keyId(v);
    long otherId = CompactFormat.keyId(other);
    String hex = HexFormat.of().formatHex(v, 2, 10);
    String t = PostgresDataKeyRegistry.TABLE;
    String[][] alterations = {
      {
        "wrapped key of another data key",
        "UPDATE "
            + t
            + " SET encrypted_data_key = (SELECT encrypted_data_key FROM "
            + t
            + " WHERE key_id = "
            + otherId
            + ") WHERE key_id = "
            + id
      },
      {
        "commitment",
        "UPDATE "
            + t
            + " SET commitment = overlay(commitment PLACING '\\x00'::bytea"
            + " FROM 32 FOR 1) WHERE key_id = "
            + id
      },
      // malformed rows (fields that cannot form a row) are altered rows too, naming the key id
      {
        "commitment cut to 31 bytes",
        "UPDATE " + t + " SET commitment = substring(commitment FROM 1 FOR 31) WHERE key_id = " + id
      },
      {
        "key context cut to 1 byte",
        "UPDATE "
            + t
            + " SET key_context = substring(key_context FROM 1 FOR 1) WHERE key_id = "
            + id
      },
      {
        "empty wrapped key",
        "UPDATE " + t + " SET encrypted_data_key = ''::bytea WHERE key_id = " + id
      },
      {"CMK", "UPDATE " + t + " SET cmk_arn = cmk_arn || 'x' WHERE key_id = " + id},
      {"suite", "UPDATE " + t + " SET suite = 1 WHERE key_id = " + id},
      {"deleted", "DELETE FROM " + t + " WHERE key_id = " + id},
    };
    save(id);
    for (String[] a : alterations) {
      JdbcTestEnvironment.exec(a[1]);
      try (PanopsCrypto reader = crypto()) {
        EncryptedColumn r = JdbcTestEnvironment.subject(reader, "acme", "cc_mail");
        SQLException e =
            expectIntegrity(() -> r.getString(rsOf("cc_mail", "subject", "r1"), 1, "r1"));
        RegisteredKeyException cause = assertInstanceOf(RegisteredKeyException.class, e.getCause());
        assertEquals(a[0].equals("deleted"), cause.isMissing(), a[0]);
        assertTrue(cause.getMessage().contains(hex), a[0] + ": " + cause.getMessage());
        assertFalse(reader.isRevoked(cmk), a[0] + ": latched the CMK");
      } finally {
        restore(id, a[0]);
      }
    }
    try (PanopsCrypto reader = crypto()) {
      EncryptedColumn r = JdbcTestEnvironment.subject(reader, "acme", "cc_mail");
      assertEquals("kept", r.getString(rsOf("cc_mail", "subject", "r1"), 1, "r1"), "restored");
    }
  }

  private static final Map<Long, Object[]> SAVED = new java.util.HashMap<>();

  private static void save(long id) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT tenant_id, key_id, cmk_arn, encrypted_data_key, key_context, suite,"
                    + " commitment FROM "
                    + PostgresDataKeyRegistry.TABLE
                    + " WHERE key_id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next());
        Object[] row = new Object[7];
        for (int i = 0; i < 7; i++) {
          row[i] = rs.getObject(i + 1);
        }
        SAVED.put(id, row);
      }
    }
  }

  /** Puts the original row back (saved before the first alteration). */
  private static void restore(long id, String what) throws SQLException {
    Object[] row = SAVED.get(id);
    if (row == null) {
      throw new IllegalStateException("row not saved");
    }
    try (Connection c = ds.getConnection();
        PreparedStatement del =
            c.prepareStatement(
                "DELETE FROM " + PostgresDataKeyRegistry.TABLE + " WHERE key_id = ?");
        PreparedStatement ins =
            c.prepareStatement(
                "INSERT INTO "
                    + PostgresDataKeyRegistry.TABLE
                    + " (tenant_id, key_id, cmk_arn, encrypted_data_key, key_context, suite,"
                    + " commitment, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, now())")) {
      del.setLong(1, id);
      del.executeUpdate();
      for (int i = 0; i < row.length; i++) {
        ins.setObject(i + 1, row[i]);
      }
      ins.executeUpdate();
    }
  }
}
