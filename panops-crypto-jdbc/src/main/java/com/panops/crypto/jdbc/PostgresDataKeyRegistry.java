package com.panops.crypto.jdbc;

import com.panops.crypto.DataKeyRegistry;
import com.panops.crypto.DataKeyRegistryException;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RegisteredDataKey;
import com.panops.crypto.TenantCrypto;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import javax.sql.DataSource;

/**
 * The {@link DataKeyRegistry} of compact values, in a PostgreSQL table beside the values it serves
 * ({@value #TABLE}), so that backups and restores carry both.
 *
 * <pre>
 * CREATE TABLE panops_data_keys (
 *   tenant_id          text        NOT NULL,
 *   key_id             bigint      NOT NULL,  -- the 8-byte id every value carries
 *   cmk_arn            text        NOT NULL,  -- the CMK that wraps the data key
 *   encrypted_data_key bytea       NOT NULL,  -- KMS CiphertextBlob
 *   key_context        bytea       NOT NULL,  -- canonical pairs (docs/FORMAT.md)
 *   suite              smallint    NOT NULL,
 *   commitment         bytea       NOT NULL,  -- 32 bytes, checked after every unwrap
 *   created_at         timestamptz NOT NULL,
 *   rewrapped_at       timestamptz,
 *   PRIMARY KEY (tenant_id, key_id))
 * </pre>
 *
 * <p>{@link #register} inserts once ({@code ON CONFLICT DO NOTHING}) on its own auto-committed
 * connection, so a row is durable before any value refers to it and a rollback of the caller's
 * transaction cannot lose it. {@link #lookup} reads one row; the core caches rows, so a warm reader
 * does not query this table. Both borrow a connection from this registry's DataSource: on a pool,
 * leave room for them (a cold read inside a transaction that holds the pool's last connection would
 * wait for the pool's timeout), or give the registry a DataSource of its own. Use a {@link
 * TlsEnforcingDataSource} (or a pool over one), as for the values.
 *
 * <p>{@link #rewrap} moves every row of a tenant to its current CMK with KMS {@code ReEncrypt}: one
 * KMS call per data key, no data row touched. Rows are never deleted by this library: a row whose
 * values are all gone is a few hundred bytes.
 *
 * <p>Thread-safe.
 */
public final class PostgresDataKeyRegistry implements DataKeyRegistry {
  /** The registry table's name. */
  public static final String TABLE = "panops_data_keys";

  /** The table's DDL, for a migration tool (Flyway, Liquibase) or {@link #createTableIfMissing}. */
  public static final String DDL =
      "CREATE TABLE IF NOT EXISTS "
          + TABLE
          + " (tenant_id text NOT NULL, key_id bigint NOT NULL, cmk_arn text NOT NULL,"
          + " encrypted_data_key bytea NOT NULL, key_context bytea NOT NULL,"
          + " suite smallint NOT NULL, commitment bytea NOT NULL,"
          + " created_at timestamptz NOT NULL, rewrapped_at timestamptz,"
          + " PRIMARY KEY (tenant_id, key_id))";

  static final String COLUMNS =
      "key_id, cmk_arn, encrypted_data_key, key_context, suite, commitment, created_at";

  private final DataSource dataSource;

  private PostgresDataKeyRegistry(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  /** A registry over {@code dataSource} (a {@link TlsEnforcingDataSource}, or a pool over one). */
  public static PostgresDataKeyRegistry on(DataSource dataSource) {
    return new PostgresDataKeyRegistry(dataSource);
  }

  /** Creates the table if it does not exist ({@link #DDL}). Idempotent. */
  public void createTableIfMissing() throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute(DDL);
    }
  }

  @Override
  public boolean register(RegisteredDataKey key) {
    Objects.requireNonNull(key, "key");
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(true);
      try (PreparedStatement ps =
          c.prepareStatement(
              "INSERT INTO "
                  + TABLE
                  + " (tenant_id, "
                  + COLUMNS
                  + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
        ps.setString(1, key.tenantId());
        ps.setLong(2, key.keyId());
        ps.setString(3, key.keyArn());
        ps.setBytes(4, key.encryptedDataKey());
        ps.setBytes(5, key.keyContext());
        ps.setShort(6, (short) key.suite());
        ps.setBytes(7, key.commitment());
        ps.setTimestamp(8, Timestamp.from(key.created()));
        return ps.executeUpdate() == 1;
      }
    } catch (SQLException e) {
      throw new DataKeyRegistryException(
          "data-key registry insert failed (SQLState " + e.getSQLState() + ")", e);
    }
  }

  @Override
  public RegisteredDataKey lookup(String tenantId, long keyId) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT " + COLUMNS + " FROM " + TABLE + " WHERE tenant_id = ? AND key_id = ?")) {
      ps.setString(1, tenantId);
      ps.setLong(2, keyId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? row(tenantId, rs) : null;
      }
    } catch (SQLException e) {
      throw new DataKeyRegistryException(
          "data-key registry lookup failed (SQLState " + e.getSQLState() + ")", e);
    }
  }

  /**
   * The row at {@code rs}'s cursor.
   *
   * @throws IllegalArgumentException if its fields cannot form a row (altered): {@link #lookup}'s
   *     caller, the core, reports it as a {@code RegisteredKeyException} naming the key id
   */
  static RegisteredDataKey row(String tenantId, ResultSet rs) throws SQLException {
    try {
      return new RegisteredDataKey(
          tenantId,
          rs.getLong(1),
          rs.getString(2),
          rs.getBytes(3),
          rs.getBytes(4),
          rs.getShort(5),
          rs.getBytes(6),
          rs.getTimestamp(7).toInstant());
    } catch (NullPointerException e) {
      // the table's columns are NOT NULL: only an altered table gets here
      throw new IllegalArgumentException("malformed data-key registry row (a null field)", e);
    }
  }

  /**
   * A re-wrap of every registry row of tenant {@code tenantId} to its current CMK (as {@code
   * crypto}'s tenant directory names it): the CMK migration of compact values, in O(data keys).
   */
  public Rewrap rewrap(PanopsCrypto crypto, String tenantId) {
    return new Rewrap(this, TenantRef.live(crypto, tenantId));
  }

  @Override
  public String toString() {
    return "PostgresDataKeyRegistry[" + TABLE + "]";
  }

  /**
   * Totals of a {@link Rewrap} so far.
   *
   * @param batches batches committed
   * @param rewrapped rows moved to the current CMK
   * @param changedConcurrently rows a writer changed between read and update (left alone: run
   *     again)
   * @param failedCount rows that could not be re-wrapped and were skipped (see {@link
   *     RewrapIncompleteException})
   * @param failedKeyIds the key ids of the first {@value #MAX_FAILED_KEY_IDS} such rows, in key-id
   *     order
   */
  public record RewrapProgress(
      long batches,
      long rewrapped,
      long changedConcurrently,
      long failedCount,
      List<Long> failedKeyIds) {
    /** How many failed key ids a progress report lists at most. */
    public static final int MAX_FAILED_KEY_IDS = 1000;

    public RewrapProgress {
      failedKeyIds = List.copyOf(failedKeyIds);
    }

    /** Whether every row read was moved or found changed meanwhile (no row was skipped). */
    public boolean complete() {
      return failedCount == 0;
    }
  }

  /**
   * A {@link Rewrap} run that skipped rows it could not re-wrap: every other row was moved, but the
   * rows in {@link #progress()}{@code .failedKeyIds()} still name another CMK (or are malformed),
   * so the old CMK must not be retired yet. The SQLState is that of the first failure ({@link
   * SqlStates#INTEGRITY} for a row that is malformed, names a KMS key the tenant may not use, or
   * whose wrapped key KMS refuses); it is the cause. The message names key ids only.
   */
  public static final class RewrapIncompleteException extends SQLException {
    private static final long serialVersionUID = 1L;

    private final transient RewrapProgress progress;

    RewrapIncompleteException(String tenantId, RewrapProgress progress, SQLException first) {
      super(
          "data-key registry re-wrap of tenant "
              + tenantId
              + ": "
              + progress.failedCount()
              + " row(s) could not be re-wrapped and were skipped (key ids "
              + hexList(progress.failedKeyIds(), 10)
              + "); "
              + progress.rewrapped()
              + " other row(s) were re-wrapped. Keep the old CMK until a run completes.",
          first.getSQLState(),
          first);
      this.progress = progress;
    }

    /** The run's totals, with the skipped key ids. */
    public RewrapProgress progress() {
      return progress;
    }

    private static String hexList(List<Long> ids, int max) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < ids.size() && i < max; i++) {
        b.append(i == 0 ? "" : ", ").append(String.format("%016x", ids.get(i)));
      }
      return ids.size() > max ? b + ", ..." : b.toString();
    }
  }

  /**
   * Re-wraps registry rows to the tenant's current CMK, in batches, resumably, with
   * compare-and-set; no data row is touched and no row is ever unreadable.
   *
   * <pre>{@code
   * // the directory now says: current = new CMK, decrypt-only = [old CMK]
   * registry.rewrap(crypto, "acme").batchSize(100).run();
   * // when a run completes (no RewrapIncompleteException) and re-wraps nothing, drop the old CMK
   * }</pre>
   *
   * <p>Each batch reads up to {@code batchSize} rows still under another CMK ({@code SELECT ...
   * WHERE tenant_id = ? AND cmk_arn <> current AND key_id > last ORDER BY key_id LIMIT n}, no
   * transaction, no lock), re-wraps each with {@link TenantCrypto#rewrapRegisteredKey} (one KMS
   * {@code ReEncrypt}, holding no connection), then in one short transaction updates each row only
   * if it still holds the CMK and wrapped key that were read (compare-and-set; a row changed
   * meanwhile is left alone and counted), commits and tells the progress listener. A crash or an
   * interruption loses at most the batch in flight; running again picks up exactly the rows not yet
   * moved.
   *
   * <p>A row that cannot be re-wrapped — malformed, naming a KMS key the tenant may not use (e.g. a
   * CMK no longer in the directory), refused by KMS, or under a decrypt-only CMK that is revoked —
   * is skipped and its key id recorded; the run goes on with the next row, so one bad row (say, one
   * written by a party who can write the registry) cannot block the migration. If any row was
   * skipped, {@link #run} ends with a {@link RewrapIncompleteException} listing them after every
   * other row was moved. A revoked <em>current</em> CMK ({@link SqlStates#KEY_REVOKED}) or KMS
   * being unavailable stops the run at once: every row would fail.
   *
   * <p>Re-wrapping does not check a row's commitment: the data key never enters this process
   * ({@code ReEncrypt} happens inside KMS), so a row whose wrapped key was swapped for another data
   * key of the same tenant and key context is re-wrapped as it is. Such a row still fails when a
   * value is read ({@link SqlStates#INTEGRITY}, {@code RegisteredKeyException}): the commitment is
   * checked after every unwrap at read time, and re-wrapping neither creates nor hides that.
   *
   * <p>Values keep working throughout: a reader whose cached row names the old CMK uses it while
   * the old CMK is allowed and alive, and reads the row again once when it is not.
   *
   * <p>Not thread-safe: run one re-wrap per tenant at a time.
   */
  public static final class Rewrap {
    private final PostgresDataKeyRegistry registry;
    private final TenantRef tenant;
    private int batchSize = 100;
    private Consumer<RewrapProgress> listener;

    private Rewrap(PostgresDataKeyRegistry registry, TenantRef tenant) {
      this.registry = registry;
      this.tenant = tenant;
    }

    /** Rows per batch (1..10000, default 100). */
    public Rewrap batchSize(int n) {
      if (n < 1 || n > 10_000) {
        throw new IllegalArgumentException("batch size must be 1..10000");
      }
      this.batchSize = n;
      return this;
    }

    /** Called after each committed batch; what it throws stops the run (the batch stays done). */
    public Rewrap progressListener(Consumer<RewrapProgress> l) {
      this.listener = Objects.requireNonNull(l, "listener");
      return this;
    }

    /**
     * Runs until no row of the tenant is under another CMK (rows a writer changed meanwhile
     * excepted: run again; rows that could not be re-wrapped skipped and reported).
     *
     * @return the totals; {@link RewrapProgress#complete()} is then always true
     * @throws RewrapIncompleteException if some rows were skipped (every other row was moved)
     * @throws SQLException on a database error or a {@link SqlStates} failure that stops the run
     */
    public RewrapProgress run() throws SQLException {
      RegistryRewrapBatch.Totals totals = new RegistryRewrapBatch.Totals();
      Long last = null;
      while (true) {
        TenantCrypto t = tenant.get();
        String current = t.keys().currentKeyArn();
        RegistryRewrapBatch batch =
            RegistryRewrapBatch.read(registry.dataSource, tenant.id(), current, last, batchSize);
        if (batch.read() == 0) {
          break;
        }
        last = batch.last();
        List<RegisteredDataKey[]> changes = batch.rewrap(t, current, totals);
        if (!changes.isEmpty()) {
          batch.update(registry.dataSource, changes, totals);
        }
        totals.batches++;
        if (listener != null) {
          listener.accept(totals.progress());
        }
        if (batch.read() < batchSize) {
          break;
        }
      }
      RewrapProgress p = totals.progress();
      if (totals.failedCount > 0) {
        throw new RewrapIncompleteException(tenant.id(), p, totals.firstFailure);
      }
      return p;
    }
  }
}
