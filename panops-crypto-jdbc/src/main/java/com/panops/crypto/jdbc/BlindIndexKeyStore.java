package com.panops.crypto.jdbc;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCryptoException;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.adapter.AdapterAccess;
import com.panops.crypto.format.MessageHeader;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * Where blind-index keys live: one 32-byte HMAC key per (tenant, table, column), stored in the
 * table {@value #TABLE} <em>wrapped</em> (encrypted) by the tenant's CMK through the core, never in
 * the clear.
 *
 * <pre>
 * CREATE TABLE panops_blind_index_keys (
 *   tenant_id   text   NOT NULL,
 *   table_name  text   NOT NULL,
 *   column_name text   NOT NULL,
 *   wrapped_key bytea  NOT NULL,   -- a panops-crypto message of the 32 key bytes
 *   created_at  timestamptz NOT NULL DEFAULT now(),
 *   index_params text,            -- the normaliser and length the key was created for
 *   PRIMARY KEY (tenant_id, table_name, column_name))
 * </pre>
 *
 * <p><b>A key is bound to its index's parameters.</b> The normaliser and length an index was
 * created with are stored beside its key; a {@link BlindIndex} with others is refused ({@link
 * SqlStates#CRYPTO_FAILURE}) instead of silently finding nothing. Keys created before this column
 * existed (NULL) are not checked. {@link #createTableIfMissing()} adds the column to an existing
 * table: run it once after upgrading.
 *
 * <p>The wrapped key is encrypted under key context {@code {purpose=blind-index}} (the core adds
 * the tenant) with message AAD {@code jdbc.bidx.tenant, jdbc.bidx.table, jdbc.bidx.column}, so a
 * wrapped key copied to another column does not unwrap. The key is created by {@link #ensureKey}
 * (call it at start-up) or on first use, always in its own auto-committed transaction (never in the
 * caller's transaction, so a rollback of the caller cannot lose a key that rows already use);
 * concurrent creators race on the primary key and all use the winner's key.
 *
 * <p><b>Connections.</b> A lookup reads the wrapped key on the connection of the statement being
 * bound, so it never needs a second connection from a pool the caller may be holding the last
 * connection of (N concurrent first uses on an N-connection pool would otherwise wait for each
 * other until the pool's timeout). Only creating a missing key inside the caller's transaction
 * takes a connection of this store's DataSource; {@link #ensureKey} at start-up avoids it.
 *
 * <p>The wrapped bytes (not secret) are cached in memory for the life of this object, and read
 * again once when they fail to unwrap (another instance may have re-wrapped them); the key is
 * unwrapped through {@link TenantCrypto#decrypt} on every use, which the core serves from its
 * data-key cache (no KMS call), and which fails once the tenant's CMK is revoked: the kill switch
 * stops lookups too. The unwrapped key is zeroed after each use (the JVM cannot promise that no
 * other copy exists).
 *
 * <p>Thread-safe.
 */
public final class BlindIndexKeyStore {
  /** The key table's name. */
  public static final String TABLE = "panops_blind_index_keys";

  static final int KEY_LENGTH = 32;
  private static final KeyContext KEY_CONTEXT = KeyContext.of("purpose", "blind-index");

  static KeyContext keyContextOf(String tenantId) {
    return KEY_CONTEXT;
  }

  private static final SecureRandom RANDOM = new SecureRandom();

  private final DataSource dataSource;
  private final ConcurrentHashMap<Slot, byte[]> wrapped = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Slot, String> params = new ConcurrentHashMap<>();

  private BlindIndexKeyStore(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  /** A store over {@code dataSource} (use a {@link TlsEnforcingDataSource}). */
  public static BlindIndexKeyStore on(DataSource dataSource) {
    return new BlindIndexKeyStore(dataSource);
  }

  /** Creates the key table if it does not exist. Idempotent. */
  public void createTableIfMissing() throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + TABLE
              + " (tenant_id text NOT NULL, table_name text NOT NULL, column_name text NOT NULL,"
              + " wrapped_key bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
              + " index_params text,"
              + " PRIMARY KEY (tenant_id, table_name, column_name))");
      s.execute("ALTER TABLE " + TABLE + " ADD COLUMN IF NOT EXISTS index_params text");
    }
  }

  /** The key context of the tenant's wrapped blind-index keys, as shown in CloudTrail. */
  public static KeyContext keyContext(String tenantId) {
    return keyContextOf(tenantId);
  }

  static MessageAad aad(String tenantId, String table, String column) {
    return MessageAad.of(
        "jdbc.bidx.tenant", tenantId, "jdbc.bidx.table", table, "jdbc.bidx.column", column);
  }

  /**
   * Makes sure the key for (tenant, table, column) exists, creating it if not, and caches its
   * wrapped form, on a connection of this store's DataSource (see {@link BlindIndex#ensureKey()}).
   */
  void ensureKey(TenantCrypto tenant, String table, String column, String indexParams)
      throws SQLException {
    Objects.requireNonNull(tenant, "tenant");
    Slot slot = new Slot(tenant.tenantId(), table, column);
    wrapped.put(slot, loadOrCreate(tenant, slot, null, indexParams));
    checkParams(slot, indexParams);
  }

  private void checkParams(Slot slot, String indexParams) throws SQLException {
    String stored = params.get(slot);
    if (stored != null && !stored.isEmpty() && !stored.equals(indexParams)) {
      throw new SQLException(
          "blind index "
              + slot.table()
              + "."
              + slot.column()
              + " was created with "
              + stored
              + ", not "
              + indexParams
              + ": its values would never match; keep the index's normaliser and length, or"
              + " build a new index (another column name) and re-index",
          SqlStates.CRYPTO_FAILURE);
    }
  }

  /**
   * The unwrapped key for (tenant, table, column), created if missing. The caller must zero it.
   *
   * <p>{@code caller} is the connection of the statement being bound, or null: an uncached wrapped
   * key is read on it (no second connection is borrowed from a pool the caller may have exhausted),
   * and a missing key is created on it when it is in auto-commit mode (its own transaction). Inside
   * a transaction a missing key is created on a connection of this store's DataSource, so that a
   * rollback of the caller cannot lose a key others already use; {@link #ensureKey} at start-up
   * avoids that.
   *
   * <p>A cached wrapped key that fails to unwrap is read again once (another instance may have
   * re-wrapped it to a new CMK, and the old CMK may be gone from the directory or disabled); only
   * if the stored bytes differ is the unwrap retried.
   */
  byte[] unwrappedKey(
      TenantCrypto tenant, String table, String column, Connection caller, String indexParams)
      throws SQLException {
    Slot slot = new Slot(tenant.tenantId(), table, column);
    byte[] w = wrapped.get(slot);
    boolean cached = w != null;
    if (!cached) {
      w = loadOrCreate(tenant, slot, caller, indexParams);
      wrapped.put(slot, w);
    }
    checkParams(slot, indexParams);
    String where = "blind index " + table + "." + column;
    byte[] key;
    try {
      key = unwrap(tenant, slot, w);
    } catch (PanopsCryptoException e) {
      if (!cached) {
        throw SqlErrors.of(e, where);
      }
      byte[] again = reread(slot, caller);
      if (again == null || Arrays.equals(again, w)) {
        throw SqlErrors.of(e, where);
      }
      wrapped.put(slot, again);
      try {
        key = unwrap(tenant, slot, again);
      } catch (PanopsCryptoException e2) {
        throw SqlErrors.of(e2, where);
      }
    }
    if (key.length != KEY_LENGTH) {
      Arrays.fill(key, (byte) 0);
      throw new SQLException(where + ": stored key has a wrong length", SqlStates.CRYPTO_FAILURE);
    }
    return key;
  }

  private static byte[] unwrap(TenantCrypto tenant, Slot slot, byte[] w) {
    return tenant.decrypt(
        w, keyContextOf(slot.tenant()), aad(slot.tenant(), slot.table(), slot.column()));
  }

  private byte[] reread(Slot slot, Connection caller) throws SQLException {
    if (caller != null) {
      return select(caller, slot);
    }
    try (Connection c = dataSource.getConnection()) {
      return select(c, slot);
    }
  }

  private byte[] loadOrCreate(TenantCrypto tenant, Slot slot, Connection caller, String indexParams)
      throws SQLException {
    if (caller != null) {
      byte[] existing = select(caller, slot);
      if (existing != null) {
        return existing;
      }
      if (caller.getAutoCommit()) {
        return create(tenant, slot, caller, indexParams);
      }
    }
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(true);
      byte[] existing = select(c, slot);
      if (existing != null) {
        return existing;
      }
      return create(tenant, slot, c, indexParams);
    }
  }

  /** Creates the key on {@code c} (in auto-commit mode); returns the winner of any race. */
  private byte[] create(TenantCrypto tenant, Slot slot, Connection c, String indexParams)
      throws SQLException {
    byte[] key = new byte[KEY_LENGTH];
    RANDOM.nextBytes(key);
    byte[] w;
    try {
      w =
          tenant.encrypt(
              key, keyContextOf(slot.tenant()), aad(slot.tenant(), slot.table(), slot.column()));
    } catch (PanopsCryptoException e) {
      throw SqlErrors.of(e, "blind index " + slot.table() + "." + slot.column());
    } finally {
      Arrays.fill(key, (byte) 0);
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO "
                + TABLE
                + " (tenant_id, table_name, column_name, wrapped_key, index_params)"
                + " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING")) {
      ps.setString(1, slot.tenant());
      ps.setString(2, slot.table());
      ps.setString(3, slot.column());
      ps.setBytes(4, w);
      ps.setString(5, indexParams);
      ps.executeUpdate();
    }
    byte[] winner = select(c, slot);
    if (winner == null) {
      throw new SQLException("blind-index key vanished after insert", SqlStates.CRYPTO_FAILURE);
    }
    return winner;
  }

  private byte[] select(Connection c, Slot slot) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT wrapped_key, index_params FROM "
                + TABLE
                + " WHERE tenant_id = ? AND table_name = ? AND column_name = ?")) {
      ps.setString(1, slot.tenant());
      ps.setString(2, slot.table());
      ps.setString(3, slot.column());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        String p = rs.getString(2);
        params.put(slot, p == null ? "" : p);
        return rs.getBytes(1);
      }
    }
  }

  /**
   * Re-wraps every blind-index key of {@code tenant} that is not under its current CMK with KMS
   * {@code ReEncrypt} (the key never leaves KMS in the clear and the index values do not change),
   * in one transaction. Part of a key rotation; see {@link ColumnRotation}.
   *
   * @return how many keys were re-wrapped
   */
  public int rewrapKeys(TenantCrypto tenant) throws SQLException {
    Objects.requireNonNull(tenant, "tenant");
    int n = 0;
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      try {
        try (PreparedStatement sel =
                c.prepareStatement(
                    "SELECT table_name, column_name, wrapped_key FROM "
                        + TABLE
                        + " WHERE tenant_id = ? FOR UPDATE");
            PreparedStatement upd =
                c.prepareStatement(
                    "UPDATE "
                        + TABLE
                        + " SET wrapped_key = ? WHERE tenant_id = ? AND table_name = ?"
                        + " AND column_name = ?")) {
          sel.setString(1, tenant.tenantId());
          try (ResultSet rs = sel.executeQuery()) {
            while (rs.next()) {
              byte[] w = rs.getBytes(3);
              byte[] rewrapped;
              try {
                MessageHeader h = MessageHeader.parse(w, 0, w.length);
                if (h.keyArn().equals(tenant.keys().currentKeyArn())) {
                  continue;
                }
                byte[] header =
                    AdapterAccess.rewrapHeader(tenant, h, keyContextOf(tenant.tenantId()));
                rewrapped = new byte[header.length + w.length - h.length()];
                System.arraycopy(header, 0, rewrapped, 0, header.length);
                System.arraycopy(w, h.length(), rewrapped, header.length, w.length - h.length());
              } catch (PanopsCryptoException e) {
                throw SqlErrors.of(e, "blind index " + rs.getString(1) + "." + rs.getString(2));
              }
              upd.setBytes(1, rewrapped);
              upd.setString(2, tenant.tenantId());
              upd.setString(3, rs.getString(1));
              upd.setString(4, rs.getString(2));
              upd.executeUpdate();
              n++;
            }
          }
        }
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    }
    wrapped.keySet().removeIf(s -> s.tenant().equals(tenant.tenantId()));
    return n;
  }

  @Override
  public String toString() {
    return "BlindIndexKeyStore[" + TABLE + "]";
  }

  private record Slot(String tenant, String table, String column) {}
}
