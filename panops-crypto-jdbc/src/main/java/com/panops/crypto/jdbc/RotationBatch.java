package com.panops.crypto.jdbc;

import com.panops.crypto.TenantCrypto;
import com.panops.crypto.jdbc.ColumnRotation.RotationProgress;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * One batch of a {@link ColumnRotation}, in its three steps: read the header prefixes (no
 * transaction, no row lock), re-wrap them (holding no connection), then compare-and-set the headers
 * in one short transaction, every update count checked.
 */
final class RotationBatch {
  /** A value's header to replace: the row, the header read, the header to write. */
  private record Change(Object key, byte[] oldHeader, byte[] newHeader) {}

  /** The totals of a run so far. */
  static final class Totals {
    long batches;
    long rows;
    long rewrapped;
    long current;
    long changed;
    Object last;

    Totals(Object startAfter) {
      this.last = startAfter;
    }

    RotationProgress progress() {
      return new RotationProgress(batches, rows, rewrapped, current, last, changed);
    }
  }

  private final String table;
  private final List<String> columns;
  private final List<Object> keys = new ArrayList<>();
  private final List<byte[][]> prefixes = new ArrayList<>();
  private final List<List<Change>> changes = new ArrayList<>();

  private RotationBatch(String table, List<String> columns) {
    this.table = table;
    this.columns = columns;
    for (int i = 0; i < columns.size(); i++) {
      changes.add(new ArrayList<>());
    }
  }

  /** Reads the batch after {@code last} (from the start if null): no transaction, no row lock. */
  static RotationBatch read(
      DataSource dataSource,
      RotationSql sql,
      String table,
      List<String> columns,
      String tenantId,
      Object last)
      throws SQLException {
    RotationBatch b = new RotationBatch(table, columns);
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(true);
      try (PreparedStatement ps = c.prepareStatement(last == null ? sql.first : sql.next)) {
        int p = 1;
        if (tenantId != null) {
          ps.setString(p++, tenantId);
        }
        if (last != null) {
          ps.setObject(p, last);
        }
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            b.keys.add(rs.getObject(1));
            byte[][] values = new byte[columns.size()][];
            for (int i = 0; i < columns.size(); i++) {
              values[i] = rs.getBytes(i + 2);
            }
            b.prefixes.add(values);
          }
        }
      }
    }
    return b;
  }

  int size() {
    return keys.size();
  }

  Object lastKey() {
    return keys.get(keys.size() - 1);
  }

  /** Re-wraps every value not yet under {@code t}'s current CMK; counts the others as current. */
  void rewrap(HeaderRewrap rewrap, TenantCrypto t, Totals totals) throws SQLException {
    byte[] currentArn = t.keys().currentKeyArn().getBytes(StandardCharsets.UTF_8);
    for (int r = 0; r < keys.size(); r++) {
      for (int i = 0; i < columns.size(); i++) {
        byte[] prefix = prefixes.get(r)[i];
        if (prefix == null) {
          continue;
        }
        byte[][] change = rewrap.rewrap(t, currentArn, prefix, i);
        if (change == null) {
          totals.current++;
        } else {
          changes.get(i).add(new Change(keys.get(r), change[0], change[1]));
        }
      }
    }
  }

  /** Compare-and-sets the new headers in one transaction; rolled back on any failure. */
  void compareAndSet(DataSource dataSource, RotationSql sql, Totals totals) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        for (int i = 0; i < columns.size(); i++) {
          if (!changes.get(i).isEmpty()) {
            compareAndSetColumn(c, sql.updates.get(i), i, totals);
          }
        }
        c.commit();
      } catch (SQLException | RuntimeException e) {
        SqlErrors.rollBack(c, e);
        throw e;
      }
    }
  }

  private void compareAndSetColumn(Connection c, String update, int i, Totals totals)
      throws SQLException {
    List<Change> cs = changes.get(i);
    try (PreparedStatement up = c.prepareStatement(update)) {
      for (Change ch : cs) {
        byte[] old = ch.oldHeader();
        up.setBytes(1, ch.newHeader());
        up.setInt(2, old.length);
        up.setObject(3, ch.key());
        up.setInt(4, old.length);
        up.setBytes(5, old);
        up.addBatch();
      }
      int[] counts = up.executeBatch();
      if (counts.length != cs.size()) {
        throw new SQLException(
            "column "
                + table
                + "."
                + columns.get(i)
                + ": batch returned "
                + counts.length
                + " counts for "
                + cs.size()
                + " updates",
            SqlStates.CRYPTO_FAILURE);
      }
      for (int n : counts) {
        if (n == 1) {
          totals.rewrapped++;
        } else if (n == 0) {
          totals.changed++; // rewritten meanwhile by a writer: left alone
        } else {
          throw new SQLException(
              "column "
                  + table
                  + "."
                  + columns.get(i)
                  + ": the driver did not report an update count ("
                  + n
                  + ")",
              SqlStates.CRYPTO_FAILURE);
        }
      }
    }
  }
}
