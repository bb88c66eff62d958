package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.IntegrityException;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantKeys;
import java.io.IOException;
import java.io.InputStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLDataException;
import java.sql.SQLException;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A stored value moved or modified by someone with write access to the database is detected. */
class RowAndColumnBindingIT {
  private static PanopsCrypto crypto;
  private static DataSource ds;
  private static EncryptedColumn subject;
  private static EncryptedColumn body;
  private static EncryptedColumn otherTenantSubject;
  private static EncryptedColumn sameKeyOtherTenantSubject;

  @BeforeAll
  static void setUp() {
    String keyA = JdbcTestEnvironment.newKey("binding acme");
    String keyB = JdbcTestEnvironment.newKey("binding globex");
    crypto =
        JdbcTestEnvironment.crypto(
            Map.of(
                "acme", TenantKeys.of(keyA),
                "globex", TenantKeys.of(keyB),
                "initech", TenantKeys.of(keyA)));
    ds = JdbcTestEnvironment.dataSource();
    subject =
        EncryptedColumn.builder(crypto.tenant("acme")).table("bind_mail").column("subject").build();
    body = EncryptedColumn.builder(crypto.tenant("acme")).table("bind_mail").column("body").build();
    otherTenantSubject = subject.withTenant(crypto.tenant("globex"));
    sameKeyOtherTenantSubject = subject.withTenant(crypto.tenant("initech"));
  }

  @AfterAll
  static void tearDown() {
    crypto.close();
  }

  @BeforeEach
  void freshRows() throws SQLException {
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS bind_mail",
        "CREATE TABLE bind_mail (id text PRIMARY KEY, subject bytea, body bytea)");
    for (String id : new String[] {"1", "2"}) {
      try (Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement("INSERT INTO bind_mail (id, subject, body) VALUES (?, ?, ?)")) {
        ps.setString(1, id);
        subject.bind(ps, 2, "subject of " + id, id);
        body.bind(ps, 3, "body of " + id, id);
        ps.executeUpdate();
      }
    }
  }

  private static SQLException readSubjectFails(EncryptedColumn col, String id) {
    return assertThrows(
        SQLException.class,
        () -> {
          try (Connection c = ds.getConnection();
              PreparedStatement ps =
                  c.prepareStatement("SELECT subject FROM bind_mail WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
              assertTrue(rs.next());
              col.getString(rs, 1, id);
            }
          }
        });
  }

  private static void assertIntegrityFailure(SQLException e) {
    assertInstanceOf(SQLDataException.class, e);
    assertEquals(SqlStates.INTEGRITY, e.getSQLState());
    assertInstanceOf(IntegrityException.class, e.getCause());
    assertTrue(e.getMessage().contains("bind_mail.subject"), e.getMessage());
  }

  @Test
  void untouchedRows_decrypt() throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT id, subject FROM bind_mail")) {
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String id = rs.getString(1);
          assertEquals("subject of " + id, subject.getString(rs, 2, id));
        }
      }
    }
  }

  @Test
  void valueCopiedToAnotherRow_failsTheIntegrityCheck() throws SQLException {
    JdbcTestEnvironment.exec(
        "UPDATE bind_mail SET subject = (SELECT subject FROM bind_mail WHERE id = '1')"
            + " WHERE id = '2'");
    assertIntegrityFailure(readSubjectFails(subject, "2"));
  }

  @Test
  void rowsSwapped_bothFailTheIntegrityCheck() throws SQLException {
    JdbcTestEnvironment.exec(
        "UPDATE bind_mail a SET subject = b.subject FROM bind_mail b" + " WHERE a.id <> b.id");
    assertIntegrityFailure(readSubjectFails(subject, "1"));
    assertIntegrityFailure(readSubjectFails(subject, "2"));
  }

  @Test
  void valueCopiedToAnotherColumnOfTheSameRow_failsTheIntegrityCheck() throws SQLException {
    JdbcTestEnvironment.exec("UPDATE bind_mail SET subject = body WHERE id = '1'");
    assertIntegrityFailure(readSubjectFails(subject, "1"));
  }

  @Test
  void valueReadAsAnotherTenant_failsTheIntegrityCheck_withAnotherKeyOrTheSameKey() {
    assertIntegrityFailure(readSubjectFails(otherTenantSubject, "1"));
    assertIntegrityFailure(readSubjectFails(sameKeyOtherTenantSubject, "1"));
    // detected locally (the tenant is in the key context): the shared CMK is not latched
    assertFalse(crypto.isRevoked(crypto.tenant("acme").keys().currentKeyArn()));
  }

  @Test
  void flippedByteAnywhere_failsTheIntegrityCheck() throws SQLException {
    int len;
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT length(subject) FROM bind_mail WHERE id = '1'");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      len = rs.getInt(1);
    }
    for (int pos : new int[] {0, 10, len / 2, len - 1}) {
      freshRows();
      JdbcTestEnvironment.exec(
          "UPDATE bind_mail SET subject = set_byte(subject, "
              + pos
              + ", get_byte(subject, "
              + pos
              + ") # 1) WHERE id = '1'");
      assertIntegrityFailure(readSubjectFails(subject, "1"));
    }
  }

  @Test
  void truncatedValue_failsTheIntegrityCheck() throws SQLException {
    JdbcTestEnvironment.exec(
        "UPDATE bind_mail SET subject = substring(subject FROM 1 FOR length(subject) - 1)"
            + " WHERE id = '1'");
    assertIntegrityFailure(readSubjectFails(subject, "1"));
  }

  @Test
  void tamperedValueReadAsStream_failsWithAnIoExceptionCarryingTheSqlState() throws SQLException {
    JdbcTestEnvironment.exec(
        "UPDATE bind_mail SET subject = set_byte(subject, length(subject) - 1,"
            + " get_byte(subject, length(subject) - 1) # 1) WHERE id = '1'");
    try (Connection c = ds.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT subject FROM bind_mail WHERE id = '1'");
        ResultSet rs = ps.executeQuery()) {
      assertTrue(rs.next());
      InputStream in = subject.getStream(rs, 1, "1");
      IOException e = assertThrows(IOException.class, in::readAllBytes);
      assertIntegrityFailure((SQLException) e.getCause());
    }
  }
}
