package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantKeys;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.Random;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EncryptedColumnRoundTripIT {
  private static final int MIB = 1024 * 1024;
  private static PanopsCrypto crypto;
  private static TenantCrypto tenant;
  private static DataSource ds;
  private static EncryptedColumn subject;
  private static EncryptedColumn body;

  @BeforeAll
  static void setUp() throws SQLException {
    String key = JdbcTestEnvironment.newKey("round trips");
    crypto = JdbcTestEnvironment.crypto(Map.of("acme", TenantKeys.of(key)));
    tenant = crypto.tenant("acme");
    ds = JdbcTestEnvironment.dataSource();
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS rt_mail",
        "CREATE TABLE rt_mail (id text PRIMARY KEY, subject bytea, body bytea)");
    subject = EncryptedColumn.builder(tenant).table("rt_mail").column("subject").build();
    body = EncryptedColumn.builder(tenant).table("rt_mail").column("body").build();
  }

  @AfterAll
  static void tearDown() {
    crypto.close();
  }

  private static void insert(String id, String subj, byte[] bodyBytes) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("INSERT INTO rt_mail (id, subject, body) VALUES (?, ?, ?)")) {
      ps.setString(1, id);
      subject.bind(ps, 2, subj, id);
      body.bind(ps, 3, bodyBytes, id);
      ps.executeUpdate();
    }
  }

  private static void insertStream(String id, byte[] bodyBytes) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("INSERT INTO rt_mail (id, subject, body) VALUES (?, NULL, ?)")) {
      ps.setString(1, id);
      body.bindStream(
          ps,
          2,
          bodyBytes == null ? null : new ByteArrayInputStream(bodyBytes),
          bodyBytes == null ? 0 : bodyBytes.length,
          id);
      ps.executeUpdate();
    }
  }

  /** Runs {@code reader} on the row {@code id}. */
  private static <T> T read(String id, SqlFunction<ResultSet, T> reader) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT id, subject, body FROM rt_mail WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next(), "row " + id);
        return reader.apply(rs);
      }
    }
  }

  interface SqlFunction<A, B> {
    B apply(A a) throws SQLException;
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] readAll(InputStream in) {
    try (in) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void stringAndBytes_roundTrip_byIndexAndByLabel() throws SQLException {
    String s = "Quarterly numbers – Zürich 東京 \uD83D\uDE80";
    byte[] b = random(1000, 1);
    insert("r1", s, b);
    assertEquals(s, read("r1", rs -> subject.getString(rs, "subject", "r1")));
    assertEquals(s, read("r1", rs -> subject.getString(rs, 2, "r1")));
    assertArrayEquals(b, read("r1", rs -> body.getBytes(rs, "body", "r1")));
    assertArrayEquals(b, read("r1", rs -> body.getBytes(rs, 3, "r1")));
    assertArrayEquals(b, read("r1", rs -> readAll(body.getStream(rs, "body", "r1"))));
    assertArrayEquals(
        s.getBytes(StandardCharsets.UTF_8),
        read("r1", rs -> readAll(subject.getStream(rs, 2, "r1"))));
  }

  @Test
  void storedValue_isCiphertext_notThePlaintext() throws SQLException {
    String s = "a very recognisable plaintext marker";
    insert("r2", s, s.getBytes(StandardCharsets.UTF_8));
    byte[] raw = read("r2", rs -> rs.getBytes("subject"));
    String rawText = new String(raw, StandardCharsets.ISO_8859_1);
    assertFalse(rawText.contains("recognisable"));
    assertTrue(raw.length > s.length());
  }

  @Test
  void null_staysSqlNull_forStringBytesAndStream() throws SQLException {
    insert("n1", null, null);
    insertStream("n2", null);
    for (String id : new String[] {"n1", "n2"}) {
      boolean bothNull =
          read(id, rs -> rs.getBytes("subject") == null && rs.getBytes("body") == null);
      assertTrue(bothNull);
      assertNull(read(id, rs -> subject.getString(rs, "subject", id)));
      assertNull(read(id, rs -> body.getBytes(rs, "body", id)));
      assertNull(read(id, rs -> body.getStream(rs, "body", id)));
    }
  }

  @Test
  void emptyValues_roundTrip_andStayDistinctFromNull() throws SQLException {
    insert("e1", "", new byte[0]);
    insertStream("e2", new byte[0]);
    assertEquals("", read("e1", rs -> subject.getString(rs, "subject", "e1")));
    assertArrayEquals(new byte[0], read("e1", rs -> body.getBytes(rs, "body", "e1")));
    assertArrayEquals(new byte[0], read("e2", rs -> body.getBytes(rs, "body", "e2")));
    assertArrayEquals(new byte[0], read("e2", rs -> readAll(body.getStream(rs, "body", "e2"))));
    assertNotNull(read("e1", rs -> rs.getBytes("body")));
  }

  @Test
  void tenMebibyteValue_roundTrips_boundAsBytes_andAsStream() throws SQLException {
    byte[] big = random(10 * MIB, 10);
    insert("big1", null, big);
    insertStream("big2", big);
    assertArrayEquals(big, read("big1", rs -> body.getBytes(rs, "body", "big1")));
    assertArrayEquals(big, read("big1", rs -> readAll(body.getStream(rs, "body", "big1"))));
    assertArrayEquals(big, read("big2", rs -> body.getBytes(rs, "body", "big2")));
    assertArrayEquals(big, read("big2", rs -> readAll(body.getStream(rs, "body", "big2"))));
  }

  @Test
  void streamedValues_roundTrip_atEveryFrameBoundary() throws SQLException {
    int frame = 64 * 1024;
    int[] sizes = {1, 100, frame - 1, frame, frame + 1, 2 * frame, 3 * frame + 7};
    for (int n : sizes) {
      String id = "fb" + n;
      byte[] v = random(n, n);
      insertStream(id, v);
      assertArrayEquals(v, read(id, rs -> body.getBytes(rs, "body", id)), "size " + n);
      byte[] viaBytes = body.encrypt(v, id);
      byte[] stored = read(id, rs -> rs.getBytes("body"));
      assertEquals(viaBytes.length, stored.length, "ciphertext length for size " + n);
    }
  }

  @Test
  void streamShorterThanDeclared_failsTheStatement_andATransactionWritesNothing()
      throws SQLException {
    try (Connection c = ds.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement("INSERT INTO rt_mail (id, subject, body) VALUES (?, NULL, ?)")) {
        ps.setString(1, "short");
        body.bindStream(ps, 2, new ByteArrayInputStream(random(200_000, 3)), 300_000, "short");
        assertThrows(SQLException.class, ps::executeUpdate);
      }
      c.rollback();
    }
    assertEquals(0, countRows("short"));
  }

  @Test
  void nonUtf8Bytes_readAsString_failWithADataException() throws SQLException {
    insert("bin", null, new byte[] {(byte) 0xff, (byte) 0xfe});
    SQLException e =
        assertThrows(
            SQLException.class, () -> read("bin", rs -> body.getString(rs, "body", "bin")));
    assertEquals("22021", e.getSQLState());
  }

  private static int countRows(String id) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM rt_mail WHERE id = ?")) {
      ps.setString(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }
}
