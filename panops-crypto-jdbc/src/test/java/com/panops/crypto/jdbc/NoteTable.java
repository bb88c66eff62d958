package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import javax.sql.DataSource;

/** The kill-switch tests' table of {@link #ROWS} notes: row {@code "n" + i} holds "note i". */
final class NoteTable {
  static final int ROWS = 20;

  private NoteTable() {}

  /**
   * Reads every row and checks its note: null when every one decrypts, else the adapter's failure
   * (an SQLSTATE of class PC); any other database error fails the test.
   */
  static SQLException readAll(DataSource ds, String table, EncryptedColumn note) {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT id, note FROM " + table + " ORDER BY id");
        ResultSet rs = ps.executeQuery()) {
      int n = 0;
      while (rs.next()) {
        String id = rs.getString(1);
        assertEquals("note " + id.substring(1), note.getString(rs, 2, id));
        n++;
      }
      assertEquals(ROWS, n);
      return null;
    } catch (SQLException e) {
      if (e.getSQLState() == null || !e.getSQLState().startsWith("PC")) {
        throw new AssertionError("unexpected database error", e);
      }
      return e;
    }
  }
}
