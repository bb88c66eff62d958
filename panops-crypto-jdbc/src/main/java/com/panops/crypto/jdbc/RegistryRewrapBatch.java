package com.panops.crypto.jdbc;

import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.PanopsCryptoException;
import com.panops.crypto.RegisteredDataKey;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.jdbc.PostgresDataKeyRegistry.RewrapProgress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLDataException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * One batch of a {@link PostgresDataKeyRegistry.Rewrap}, in its three steps: read the rows still
 * under another CMK (no transaction, no lock), re-wrap each (holding no connection; a row that
 * cannot be re-wrapped is skipped and recorded), then compare-and-set the moved rows in one short
 * transaction.
 */
final class RegistryRewrapBatch {
  /** The totals of a run so far, with the skipped rows and the first reason one was skipped. */
  static final class Totals {
    long batches;
    long rewrapped;
    long changed;
    long failedCount;
    final List<Long> failedIds = new ArrayList<>();
    SQLException firstFailure;

    RewrapProgress progress() {
      return new RewrapProgress(batches, rewrapped, changed, failedCount, failedIds);
    }

    private void failed(SQLException why) {
      if (firstFailure == null) {
        firstFailure = why;
      }
    }

    /** Counts a batch's skipped rows, and lists the first of them, in key-id order. */
    private void skipped(List<Long> batchFailed) {
      batchFailed.sort(null);
      failedCount += batchFailed.size();
      for (Long id : batchFailed) {
        if (failedIds.size() < RewrapProgress.MAX_FAILED_KEY_IDS) {
          failedIds.add(id);
        }
      }
    }
  }

  private final String tenantId;
  private final List<RegisteredDataKey> rows = new ArrayList<>();
  private final List<Long> malformed = new ArrayList<>(); // key ids of rows that cannot form a row
  private final List<IllegalArgumentException> malformedWhy = new ArrayList<>();
  private int read;
  private Long last;

  private RegistryRewrapBatch(String tenantId, Long last) {
    this.tenantId = tenantId;
    this.last = last;
  }

  /**
   * Reads up to {@code batchSize} of the tenant's rows after {@code last} not under {@code
   * current}.
   */
  static RegistryRewrapBatch read(
      DataSource dataSource, String tenantId, String current, Long last, int batchSize)
      throws SQLException {
    RegistryRewrapBatch b = new RegistryRewrapBatch(tenantId, last);
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(true);
      try (PreparedStatement ps =
          c.prepareStatement(
              "SELECT "
                  + PostgresDataKeyRegistry.COLUMNS
                  + " FROM "
                  + PostgresDataKeyRegistry.TABLE
                  + " WHERE tenant_id = ? AND cmk_arn <> ?"
                  + (last == null ? "" : " AND key_id > ?")
                  + " ORDER BY key_id LIMIT "
                  + batchSize)) {
        ps.setString(1, tenantId);
        ps.setString(2, current);
        if (last != null) {
          ps.setLong(3, last);
        }
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            b.add(rs);
          }
        }
      }
    }
    return b;
  }

  private void add(ResultSet rs) throws SQLException {
    read++;
    last = rs.getLong(1);
    try {
      rows.add(PostgresDataKeyRegistry.row(tenantId, rs));
    } catch (IllegalArgumentException e) {
      malformed.add(last);
      malformedWhy.add(e);
    }
  }

  /** Rows read, malformed ones included. */
  int read() {
    return read;
  }

  /** The key id of the last row read (or the one this batch started after). */
  Long last() {
    return last;
  }

  /**
   * Re-wraps every well-formed row to {@code current}; the rows that cannot be, and the malformed
   * ones, are counted as skipped. A revoked {@code current} CMK, or any other failure, stops the
   * run: every row would fail.
   *
   * @return {old row, re-wrapped row} for each row moved
   */
  List<RegisteredDataKey[]> rewrap(TenantCrypto t, String current, Totals totals)
      throws SQLException {
    List<Long> batchFailed = new ArrayList<>();
    for (int i = 0; i < malformed.size(); i++) {
      batchFailed.add(malformed.get(i));
      if (totals.firstFailure == null) {
        totals.failed(
            new SQLDataException(
                "data-key registry, key "
                    + String.format("%016x", malformed.get(i))
                    + ": malformed row",
                SqlStates.INTEGRITY,
                malformedWhy.get(i)));
      }
    }
    List<RegisteredDataKey[]> changes = new ArrayList<>();
    for (RegisteredDataKey r : rows) {
      try {
        changes.add(new RegisteredDataKey[] {r, t.rewrapRegisteredKey(r)});
      } catch (KeyRevokedException e) {
        SQLException s = SqlErrors.of(e, "data-key registry, key " + r.keyIdHex());
        if (current.equals(e.keyArn())) {
          throw s; // the target CMK: every row would fail
        }
        batchFailed.add(r.keyId()); // a decrypt-only CMK this row names is revoked
        totals.failed(s);
      } catch (IntegrityException e) {
        // malformed key context, a KMS key the tenant may not use, or KMS refused the key
        batchFailed.add(r.keyId());
        if (totals.firstFailure == null) {
          totals.failed(SqlErrors.of(e, "data-key registry, key " + r.keyIdHex()));
        }
      } catch (PanopsCryptoException e) {
        throw SqlErrors.of(e, "data-key registry, key " + r.keyIdHex());
      }
    }
    totals.skipped(batchFailed);
    return changes;
  }

  /**
   * Compare-and-set of {@code changes} in one transaction, counted as moved or changed meanwhile.
   */
  void update(DataSource dataSource, List<RegisteredDataKey[]> changes, Totals totals)
      throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try (PreparedStatement up =
          c.prepareStatement(
              "UPDATE "
                  + PostgresDataKeyRegistry.TABLE
                  + " SET cmk_arn = ?, encrypted_data_key = ?, rewrapped_at = now()"
                  + " WHERE tenant_id = ? AND key_id = ? AND cmk_arn = ?"
                  + " AND encrypted_data_key = ?")) {
        for (RegisteredDataKey[] ch : changes) {
          up.setString(1, ch[1].keyArn());
          up.setBytes(2, ch[1].encryptedDataKey());
          up.setString(3, tenantId);
          up.setLong(4, ch[0].keyId());
          up.setString(5, ch[0].keyArn());
          up.setBytes(6, ch[0].encryptedDataKey());
          up.addBatch();
        }
        long[] counted = count(up.executeBatch(), changes.size());
        c.commit();
        totals.rewrapped += counted[0];
        totals.changed += counted[1];
      } catch (SQLException | RuntimeException e) {
        SqlErrors.rollBack(c, e);
        throw e;
      }
    }
  }

  /** {rewrapped, changed meanwhile} from the batch's update counts, each checked. */
  private static long[] count(int[] counts, int expected) throws SQLException {
    if (counts.length != expected) {
      throw new SQLException(
          "data-key registry: batch returned " + counts.length + " counts",
          SqlStates.CRYPTO_FAILURE);
    }
    long rewrapped = 0;
    long changed = 0;
    for (int n : counts) {
      if (n == 1) {
        rewrapped++;
      } else if (n == 0) {
        changed++;
      } else {
        throw new SQLException(
            "data-key registry: the driver did not report an update count (" + n + ")",
            SqlStates.CRYPTO_FAILURE);
      }
    }
    return new long[] {rewrapped, changed};
  }
}
