package com.panops.crypto.jdbc;

import com.panops.crypto.KeyContext;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.MessageFormat;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * Re-encrypts a table's encrypted columns to the tenant's current CMK, in batches keyed by the
 * primary key, resumably, with no row unreadable at any time.
 *
 * <pre>{@code
 * // 1. the directory now says: current = new CMK, decrypt-only = [old CMK]; all writers use it
 * TenantCrypto acme = crypto.tenant("acme");
 * ColumnRotation.builder(dataSource, acme)
 *     .table("mail").primaryKey("id").tenantColumn("tenant_id")
 *     .column(subject.withTenant(acme)).column(body.withTenant(acme))
 *     .batchSize(500)
 *     .progressListener(p -> log.info("rotation {}", p))
 *     .build()
 *     .run();
 * keyStore.rewrapKeys(acme);                       // the blind-index keys too
 * // 2. when every run reports nothing left, drop the old CMK from the directory
 * }</pre>
 *
 * <p><b>How.</b> Each value is a message whose header names the CMK and carries the data key
 * encrypted under it; the body is encrypted under the data key. Rotation uses {@link
 * TenantCrypto#rewrapHeader} (KMS {@code ReEncrypt}: the data key never enters this process) and
 * rewrites <em>only the header</em>, in place, on the server: {@code UPDATE t SET col = overlay(col
 * PLACING newHeader FROM 1 FOR oldHeaderLength)}. Only header prefixes travel over the network (at
 * most {@link MessageFormat#MAX_HEADER_LENGTH} bytes per value); PostgreSQL itself still writes a
 * new version of the whole value (and its TOAST chunks), so disk I/O and WAL grow with the value's
 * size. The body and its AAD binding are unchanged and still verify under the new header (the key
 * commitment ensures it is the same data key). Many rows share one data key (the cache), so one
 * {@code ReEncrypt} per distinct encrypted data key is made and its answer reused (at most {@value
 * #REWRAP_MEMO} remembered); a reused answer gets the checks {@code ReEncrypt} would have made (the
 * value's key context is the column's, its CMK is the tenant's, neither CMK is latched as revoked),
 * so a customer who disables the new CMK mid-run stops the run at the next value.
 *
 * <p><b>Batches, without long locks.</b> Each batch reads {@code SELECT pk, substring(col FROM 1
 * FOR n) ... WHERE pk > last ORDER BY pk LIMIT batch} with no lock and no open transaction,
 * re-wraps through KMS holding no connection, then in one short transaction makes one
 * compare-and-set {@code UPDATE} per value ({@code ... WHERE pk = ? AND substring(col FROM 1 FOR
 * oldLength) = oldHeader}), commits, and calls the {@link ProgressListener}. A value a writer
 * replaced in between fails the compare-and-set and is left alone (counted in {@link
 * RotationProgress#changedConcurrently()}); every update count is checked.
 *
 * <p><b>Resumable, and never unreadable.</b> A value whose header already names the current CMK is
 * skipped, so running again after a crash (or after the listener threw) redoes only the batch that
 * did not commit; {@link Builder#startAfter} skips the rows already scanned. Between batches a
 * table holds values under both CMKs; both decrypt as long as the old CMK stays in the tenant's
 * decrypt-only keys, which it must until the rotation reports nothing left.
 *
 * <p>Caveats: <b>composite primary keys are not supported</b>: the primary key must be a single
 * column whose type orders with {@code >} ({@code bigint}, {@code text}, {@code uuid}); writers
 * must already encrypt under the new CMK before the run (values written under the old one behind
 * the cursor are caught by the next run, which is why a migration ends with a run that rewraps
 * nothing); a value that fails to parse stops the run with {@link SqlStates#INTEGRITY}.
 *
 * <p>Compact values (format version 2) are skipped and counted as already current: their data keys
 * live in the data-key registry and move with {@link PostgresDataKeyRegistry#rewrap}, which touches
 * no data row.
 *
 * <p>Not thread-safe: run one rotation per table and tenant at a time.
 */
public final class ColumnRotation {
  static final int REWRAP_MEMO = 4096;

  private final DataSource dataSource;
  private final TenantRef tenant;
  private final String table;
  private final String primaryKey;
  private final String tenantColumn;
  private final List<String> columns;
  private final List<KeyContext> keyContexts;
  private final int batchSize;
  private final Object startAfter;
  private final ProgressListener listener;
  private final HeaderRewrap rewrap;

  private ColumnRotation(Builder b) {
    this.dataSource = b.dataSource;
    this.tenant = b.tenant;
    this.table = b.table;
    this.primaryKey = b.primaryKey;
    this.tenantColumn = b.tenantColumn;
    this.columns = List.copyOf(b.columns);
    this.keyContexts = List.copyOf(b.keyContexts);
    this.batchSize = b.batchSize;
    this.startAfter = b.startAfter;
    this.listener = b.listener;
    this.rewrap = new HeaderRewrap(tenant, table, columns, keyContexts);
  }

  /**
   * A builder for a rotation over {@code dataSource} to tenant {@code tenantId}'s current CMK, as
   * {@code crypto}'s tenant directory names it at each batch.
   *
   * @throws IllegalArgumentException if the directory does not know the tenant
   */
  public static Builder builder(DataSource dataSource, PanopsCrypto crypto, String tenantId) {
    return new Builder(dataSource, TenantRef.live(crypto, tenantId));
  }

  /**
   * A builder for a rotation to {@code tenant}'s current CMK as that snapshot names it. Without the
   * {@link PanopsCrypto} the revocation latch cannot be read between KMS calls, so every value
   * costs its own {@code ReEncrypt}; prefer {@link #builder(DataSource, PanopsCrypto, String)}.
   */
  public static Builder builder(DataSource dataSource, TenantCrypto tenant) {
    return new Builder(dataSource, TenantRef.pinned(tenant));
  }

  /**
   * Runs the rotation to the end of the table.
   *
   * @return the totals
   * @throws SQLException on a database error or a {@link SqlStates} failure (a revoked key, a value
   *     that does not parse); the batch in progress is rolled back and earlier batches stay done
   * @throws RuntimeException whatever the progress listener throws (after its batch committed)
   */
  public RotationProgress run() throws SQLException {
    RotationSql sql = new RotationSql(table, primaryKey, tenantColumn, columns, batchSize);
    String tenantId = tenantColumn != null ? tenant.id() : null;
    RotationBatch.Totals totals = new RotationBatch.Totals(startAfter);
    while (true) {
      RotationBatch batch =
          RotationBatch.read(dataSource, sql, table, columns, tenantId, totals.last);
      int inBatch = batch.size();
      if (inBatch == 0) {
        break;
      }
      totals.last = batch.lastKey();
      TenantCrypto t = tenant.get();
      rewrap.startBatch();
      batch.rewrap(rewrap, t, totals);
      batch.compareAndSet(dataSource, sql, totals);
      totals.rows += inBatch;
      totals.batches++;
      if (listener != null) {
        listener.batchCommitted(totals.progress());
      }
      if (inBatch < batchSize) {
        break;
      }
    }
    return totals.progress();
  }

  @Override
  public String toString() {
    return "ColumnRotation[" + table + columns + ", tenant " + tenant.id() + "]";
  }

  /** Told after each committed batch. May throw to stop the rotation (it can be resumed). */
  @FunctionalInterface
  public interface ProgressListener {
    void batchCommitted(RotationProgress progress);
  }

  /**
   * Totals of a rotation so far.
   *
   * @param batches batches committed
   * @param rows rows scanned
   * @param rewrapped values whose header was re-wrapped to the current CMK
   * @param alreadyCurrent values already under the current CMK (skipped)
   * @param lastPrimaryKey the primary key of the last row scanned; pass it to {@link
   *     Builder#startAfter} to resume without rescanning (null if no row)
   * @param changedConcurrently values a writer replaced between the read and the compare-and-set
   *     (left alone; a writer that already uses the current CMK needs nothing, one that does not is
   *     caught by the next run)
   */
  public record RotationProgress(
      long batches,
      long rows,
      long rewrapped,
      long alreadyCurrent,
      Object lastPrimaryKey,
      long changedConcurrently) {
    /** The 0.1.0 constructor, kept for binary compatibility: no value changed concurrently. */
    public RotationProgress(
        long batches, long rows, long rewrapped, long alreadyCurrent, Object lastPrimaryKey) {
      this(batches, rows, rewrapped, alreadyCurrent, lastPrimaryKey, 0);
    }
  }

  /** Builds a {@link ColumnRotation}. Not thread-safe. */
  public static final class Builder {
    private final DataSource dataSource;
    private final TenantRef tenant;
    private String table;
    private String primaryKey;
    private String tenantColumn;
    private final List<String> columns = new ArrayList<>();
    private final List<KeyContext> keyContexts = new ArrayList<>();
    private int batchSize = 500;
    private Object startAfter;
    private ProgressListener listener;

    private Builder(DataSource dataSource, TenantRef tenant) {
      this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
      this.tenant = tenant;
    }

    /** The table; default the table of the columns. */
    public Builder table(String table) {
      Identifiers.checkQualified(table, "table");
      if (this.table != null && !this.table.equals(table)) {
        throw new IllegalArgumentException("columns of table " + this.table + " were added");
      }
      this.table = table;
      return this;
    }

    /** The single-column primary key that orders the batches. Required. */
    public Builder primaryKey(String column) {
      this.primaryKey = Identifiers.check(column, "primary key");
      return this;
    }

    /**
     * A column holding the tenant id, for tables shared by tenants: only rows with {@code column =
     * tenant.tenantId()} are rotated. Without it every row is taken to be this tenant's.
     */
    public Builder tenantColumn(String column) {
      this.tenantColumn = Identifiers.check(column, "tenant column");
      return this;
    }

    /** An encrypted column to rotate (its name and key context are used). At least one. */
    public Builder column(EncryptedColumn column) {
      Objects.requireNonNull(column, "column");
      if (columns.contains(column.column())) {
        throw new IllegalArgumentException("column added twice: " + column.column());
      }
      if (table != null && !table.equals(column.table())) {
        throw new IllegalArgumentException(
            "column " + column.column() + " is of table " + column.table() + ", not " + table);
      }
      table = column.table();
      columns.add(column.column());
      keyContexts.add(column.keyContext());
      return this;
    }

    /** Rows per batch (one transaction each): 1..100,000, default 500. */
    public Builder batchSize(int rows) {
      if (rows < 1 || rows > 100_000) {
        throw new IllegalArgumentException("batch size must be 1..100000");
      }
      this.batchSize = rows;
      return this;
    }

    /** Resume after this primary key ({@link RotationProgress#lastPrimaryKey()}). */
    public Builder startAfter(Object primaryKeyValue) {
      this.startAfter = Objects.requireNonNull(primaryKeyValue, "primaryKeyValue");
      return this;
    }

    /** Told after each committed batch. */
    public Builder progressListener(ProgressListener l) {
      this.listener = Objects.requireNonNull(l, "listener");
      return this;
    }

    /**
     * Builds.
     *
     * @throws IllegalStateException if no column or no primary key was given
     */
    public ColumnRotation build() {
      if (columns.isEmpty()) {
        throw new IllegalStateException("at least one column must be added");
      }
      if (primaryKey == null) {
        throw new IllegalStateException("primaryKey must be set");
      }
      return new ColumnRotation(this);
    }
  }
}
