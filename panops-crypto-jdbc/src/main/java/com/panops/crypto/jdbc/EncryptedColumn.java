package com.panops.crypto.jdbc;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.PanopsCryptoException;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.CompactFormat;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLDataException;
import java.sql.SQLException;
import java.sql.Types;
import java.util.Arrays;
import java.util.Objects;

/**
 * One encrypted column of one table, for one tenant: binds values into a {@link PreparedStatement}
 * and reads them from a {@link ResultSet}. The column is {@code bytea}; each value is a complete
 * panops-crypto message (see {@code docs/FORMAT.md}).
 *
 * <pre>{@code
 * EncryptedColumn subject = EncryptedColumn.builder(crypto.tenant("acme"))
 *     .table("mail").column("subject").build();
 * try (PreparedStatement ps = c.prepareStatement("INSERT INTO mail(id, subject) VALUES (?, ?)")) {
 *   ps.setString(1, id);
 *   subject.bind(ps, 2, "Quarterly numbers", id);            // id is the row key
 *   ps.executeUpdate();
 * }
 * ...
 * String s = subject.getString(rs, "subject", rs.getString("id"));
 * }</pre>
 *
 * <p><b>Two contexts.</b> The {@linkplain Builder#keyContext key context} is coarse and sent to KMS
 * (it shows in the customer's CloudTrail, with the core's {@code panops:tenant} pair); by default
 * it is {@code {table=<table>}}, so one cached data key serves every row of the table and a batch
 * of inserts needs no KMS call per row. The message AAD binds each value to where it lives: {@code
 * jdbc.tenant}, {@code jdbc.table}, {@code jdbc.column} and {@code jdbc.row} (the row key the
 * caller passes). A value copied to another row, column, table or tenant therefore fails to decrypt
 * ({@link SqlStates#INTEGRITY}).
 *
 * <p><b>The row key</b> must be known when the value is written and be stable for the row's life:
 * the primary key if the application assigns it (a UUID, a natural key), or a value fetched with
 * {@code nextval} before the insert. A database-generated key that is only known after the insert
 * cannot be used. Changing a row's key means re-encrypting its values.
 *
 * <p><b>NULL</b> stays NULL: binding {@code null} calls {@code setNull(index, Types.BINARY)} and a
 * NULL column reads as {@code null}. An empty value is encrypted (its ciphertext is not empty), so
 * NULL and empty stay distinguishable. A NULL carries no ciphertext, so someone who can write to
 * the table can replace a value by NULL unnoticed: declare the column {@code NOT NULL} where that
 * matters.
 *
 * <p><b>Errors</b> are {@link SQLException}s with the core exception as cause and a {@link
 * SqlStates} state: {@link SqlStates#KEY_REVOKED}, {@link SqlStates#INTEGRITY}, {@link
 * SqlStates#KMS_UNAVAILABLE}, {@link SqlStates#CRYPTO_FAILURE}. Messages name the table and column,
 * never the row key or the value.
 *
 * <p>Immutable and thread-safe. Built with {@link #builder(PanopsCrypto, String)} it resolves the
 * tenant's keys from the tenant directory on every call, so after a CMK migration every instance
 * encrypts under the new CMK and reads values under both; built with {@link #builder(TenantCrypto)}
 * it keeps that snapshot of the tenant's keys for its life (rebuild it after a migration).
 *
 * <p><b>Compact values.</b> When the {@link PanopsCrypto} has a {@link
 * com.panops.crypto.DataKeyRegistry} (the {@link PostgresDataKeyRegistry}), new values of up to
 * {@value CompactFormat#MAX_PLAINTEXT} bytes are written in the compact format by default: {@value
 * CompactFormat#OVERHEAD} bytes of overhead instead of the few hundred of a version-1 message
 * (which carries the wrapped data key), and a CMK migration re-wraps the registry's rows instead of
 * every value ({@link PostgresDataKeyRegistry#rewrap}). Longer values and {@link #bindStream} write
 * version 1. Reading accepts both, so existing columns keep working; {@link Builder#valueFormat}
 * chooses explicitly.
 */
public final class EncryptedColumn {
  static final String AAD_TENANT = "jdbc.tenant";
  static final String AAD_TABLE = "jdbc.table";
  static final String AAD_COLUMN = "jdbc.column";
  static final String AAD_ROW = "jdbc.row";

  private final TenantRef tenant;
  private final String table;
  private final String column;
  private final KeyContext baseKeyContext;
  private final KeyContext keyContext;
  private final String where;
  private final boolean compact;

  private EncryptedColumn(
      TenantRef tenant, String table, String column, KeyContext base, boolean compact) {
    this.compact = compact;
    this.tenant = tenant;
    this.table = table;
    this.column = column;
    this.baseKeyContext = base;
    this.keyContext = base;
    this.where = "column " + table + "." + column;
  }

  /**
   * A builder for a column of tenant {@code tenantId} whose keys are resolved from {@code crypto}'s
   * tenant directory on every call (the recommended form: it follows a CMK migration).
   *
   * @throws IllegalArgumentException if the directory does not know the tenant
   */
  public static Builder builder(PanopsCrypto crypto, String tenantId) {
    return new Builder(TenantRef.live(crypto, tenantId));
  }

  /**
   * A builder for a column pinned to {@code tenant}'s keys as they were when it was obtained: after
   * a CMK migration it keeps encrypting under the old CMK. Prefer {@link #builder(PanopsCrypto,
   * String)}.
   */
  public static Builder builder(TenantCrypto tenant) {
    return new Builder(TenantRef.pinned(tenant));
  }

  /** The same column for another tenant, pinned to that snapshot of its keys. */
  public EncryptedColumn withTenant(TenantCrypto other) {
    return new EncryptedColumn(TenantRef.pinned(other), table, column, baseKeyContext, compact);
  }

  /** The same column for another tenant, resolved per call from {@code crypto}. */
  public EncryptedColumn withTenant(PanopsCrypto crypto, String tenantId) {
    return new EncryptedColumn(
        TenantRef.live(crypto, tenantId), table, column, baseKeyContext, compact);
  }

  /** The tenant's keys as this column uses them now. */
  public TenantCrypto tenant() {
    return tenant.get();
  }

  /** The tenant id bound into every value. */
  public String tenantId() {
    return tenant.id();
  }

  TenantRef tenantRef() {
    return tenant;
  }

  /** How new values are written (up to the compact limit, for {@link ValueFormat#COMPACT}). */
  public ValueFormat valueFormat() {
    return compact ? ValueFormat.COMPACT : ValueFormat.FRAMED;
  }

  /**
   * Whether new values (up to the compact limit) are written as compact values.
   *
   * @deprecated use {@link #valueFormat()}
   */
  @Deprecated(since = "0.3.0")
  public boolean compact() {
    return compact;
  }

  /** The table name bound into every value. */
  public String table() {
    return table;
  }

  /** The column name bound into every value. */
  public String column() {
    return column;
  }

  /**
   * The key context of this column's data keys: the builder's, default {@code {table=<table>}} (the
   * core adds {@code panops:tenant=<tenant id>} to what it sends to KMS, and records the tenant in
   * every message header, so a value of one tenant read as another's is refused locally).
   */
  public KeyContext keyContext() {
    return keyContext;
  }

  /** The message AAD of this column's value in the row with {@code rowKey}. */
  MessageAad aad(String rowKey) {
    Objects.requireNonNull(rowKey, "rowKey");
    if (rowKey.isEmpty()) {
      throw new IllegalArgumentException("row key must not be empty");
    }
    return MessageAad.of(
        AAD_TENANT, tenant.id(), AAD_TABLE, table, AAD_COLUMN, column, AAD_ROW, rowKey);
  }

  // ------------------------------------------------------------------ values

  /**
   * Encrypts {@code value} for the row {@code rowKey}; {@code null} gives {@code null}. Usually no
   * KMS call (the data key is cached).
   *
   * @throws SQLException with state {@link SqlStates#KEY_REVOKED} or {@link
   *     SqlStates#KMS_UNAVAILABLE}
   */
  public byte[] encrypt(byte[] value, String rowKey) throws SQLException {
    if (value == null) {
      return null;
    }
    MessageAad aad = aad(rowKey);
    try {
      if (compact && value.length <= CompactFormat.MAX_PLAINTEXT) {
        return tenant.get().encryptCompact(value, keyContext, aad);
      }
      return tenant.get().encrypt(value, keyContext, aad);
    } catch (PanopsCryptoException e) {
      throw SqlErrors.of(e, where);
    }
  }

  /**
   * Decrypts a stored value of the row {@code rowKey}; {@code null} gives {@code null}.
   *
   * @throws SQLException with state {@link SqlStates#INTEGRITY} if the value does not authenticate
   *     for this tenant, table, column and row, or {@link SqlStates#KEY_REVOKED}
   */
  public byte[] decrypt(byte[] stored, String rowKey) throws SQLException {
    if (stored == null) {
      return null;
    }
    MessageAad aad = aad(rowKey);
    try {
      return tenant.get().decrypt(stored, keyContext, aad);
    } catch (PanopsCryptoException e) {
      throw SqlErrors.of(e, where);
    }
  }

  // ------------------------------------------------------------------ binding

  /**
   * Binds the encryption of {@code value} (UTF-8) as parameter {@code index}; {@code null} binds
   * SQL NULL. The value is encrypted now, so an encryption failure is thrown here, before {@code
   * addBatch} or {@code execute}.
   *
   * @throws SQLException from the driver, or with a {@link SqlStates} state
   */
  public void bind(PreparedStatement ps, int index, String value, String rowKey)
      throws SQLException {
    bind(ps, index, value == null ? null : value.getBytes(StandardCharsets.UTF_8), rowKey);
  }

  /**
   * Binds the encryption of {@code value}; see {@link #bind(PreparedStatement, int, String,
   * String)}.
   */
  public void bind(PreparedStatement ps, int index, byte[] value, String rowKey)
      throws SQLException {
    Objects.requireNonNull(ps, "ps");
    if (value == null) {
      aad(rowKey); // check the row key all the same
      ps.setNull(index, Types.BINARY);
      return;
    }
    ps.setBytes(index, encrypt(value, rowKey));
  }

  /**
   * Binds the encryption of exactly {@code length} bytes of {@code value}, streamed: the driver
   * reads the ciphertext while it sends the statement, so memory is about one frame (64 KiB by
   * default) whatever the size. The data key is obtained and the first frame encrypted here;
   * everything after that happens inside {@code execute}/{@code executeBatch}, so a source that
   * fails or ends early, or a revocation latched meanwhile, fails the statement there: use a
   * transaction. {@code value} is not closed. {@code null} binds SQL NULL.
   *
   * @throws SQLException if {@code length} is negative or more than the driver can send (2 GiB less
   *     the message overhead), or as {@link #bind(PreparedStatement, int, byte[], String)}
   */
  public void bindStream(
      PreparedStatement ps, int index, InputStream value, long length, String rowKey)
      throws SQLException {
    Objects.requireNonNull(ps, "ps");
    if (value == null) {
      aad(rowKey);
      ps.setNull(index, Types.BINARY);
      return;
    }
    if (length < 0) {
      throw new IllegalArgumentException("length must be >= 0");
    }
    MessageAad aad = aad(rowKey);
    ParameterStream in;
    try {
      in = new ParameterStream(tenant.get(), value, length, keyContext, aad, where);
    } catch (PanopsCryptoException e) {
      throw SqlErrors.of(e, where);
    } catch (IOException e) {
      if (e.getCause() instanceof SQLException) {
        throw (SQLException) e.getCause();
      }
      throw new SQLException(where + ": reading the value failed: " + e.getMessage(), "58030", e);
    }
    if (in.ciphertextLength() > Integer.MAX_VALUE) {
      in.close();
      throw new SQLDataException(where + ": value too large for one bytea parameter", "22001");
    }
    ps.setBinaryStream(index, in, in.ciphertextLength());
  }

  // ------------------------------------------------------------------ reading

  /** The decrypted value of column {@code columnIndex} as UTF-8 text, or null for SQL NULL. */
  public String getString(ResultSet rs, int columnIndex, String rowKey) throws SQLException {
    return text(decrypt(rs.getBytes(columnIndex), rowKey));
  }

  /** The decrypted value of column {@code columnLabel} as UTF-8 text, or null for SQL NULL. */
  public String getString(ResultSet rs, String columnLabel, String rowKey) throws SQLException {
    return text(decrypt(rs.getBytes(columnLabel), rowKey));
  }

  /** The decrypted value of column {@code columnIndex}, or null for SQL NULL. */
  public byte[] getBytes(ResultSet rs, int columnIndex, String rowKey) throws SQLException {
    return decrypt(rs.getBytes(columnIndex), rowKey);
  }

  /** The decrypted value of column {@code columnLabel}, or null for SQL NULL. */
  public byte[] getBytes(ResultSet rs, String columnLabel, String rowKey) throws SQLException {
    return decrypt(rs.getBytes(columnLabel), rowKey);
  }

  /**
   * A stream of the decrypted value of column {@code columnIndex}, or null for SQL NULL. Frames are
   * authenticated one at a time before their bytes are returned; a failure while reading is an
   * {@link IOException} whose cause is the {@link SQLException} (with its {@link SqlStates} state)
   * that {@link #getBytes} would have thrown. Note that pgjdbc holds a {@code bytea} value in
   * memory once fetched; the stream saves the second, plaintext, copy.
   *
   * @throws SQLException if the header does not authenticate or the key is revoked
   */
  public InputStream getStream(ResultSet rs, int columnIndex, String rowKey) throws SQLException {
    return stream(rs.getBinaryStream(columnIndex), rowKey);
  }

  /** As {@link #getStream(ResultSet, int, String)}, by label. */
  public InputStream getStream(ResultSet rs, String columnLabel, String rowKey)
      throws SQLException {
    return stream(rs.getBinaryStream(columnLabel), rowKey);
  }

  private InputStream stream(InputStream stored, String rowKey) throws SQLException {
    if (stored == null) {
      return null;
    }
    MessageAad aad = aad(rowKey);
    InputStream plain;
    try {
      PushbackInputStream peek = new PushbackInputStream(stored, 1);
      int first = peek.read();
      if (first >= 0) {
        peek.unread(first);
      }
      if (first == CompactFormat.VERSION) {
        // a compact value is at most one GCM invocation: read it whole, then authenticate it
        byte[] all = peek.readNBytes(CompactFormat.OVERHEAD + CompactFormat.MAX_PLAINTEXT + 1);
        return new ByteArrayInputStream(decrypt(all, rowKey));
      }
      plain = tenant.get().decryptingStream(peek, keyContext, aad);
    } catch (PanopsCryptoException e) {
      throw SqlErrors.of(e, where);
    } catch (IOException e) {
      throw new SQLException(where + ": reading the value failed: " + e.getMessage(), "58030", e);
    }
    return new FilterInputStream(plain) {
      @Override
      public int read() throws IOException {
        try {
          return super.read();
        } catch (PanopsCryptoException e) {
          throw SqlErrors.io(e, where);
        }
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        try {
          return super.read(b, off, len);
        } catch (PanopsCryptoException e) {
          throw SqlErrors.io(e, where);
        }
      }

      @Override
      public long skip(long n) throws IOException {
        try {
          return super.skip(n);
        } catch (PanopsCryptoException e) {
          throw SqlErrors.io(e, where);
        }
      }
    };
  }

  private String text(byte[] plain) throws SQLException {
    if (plain == null) {
      return null;
    }
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(plain))
          .toString();
    } catch (CharacterCodingException e) {
      throw new SQLDataException(where + ": value is not UTF-8 text", "22021", e);
    } finally {
      Arrays.fill(plain, (byte) 0);
    }
  }

  @Override
  public String toString() {
    return "EncryptedColumn[" + table + "." + column + ", tenant " + tenant.id() + "]";
  }

  /** Builds an {@link EncryptedColumn}: table and column are required. Not thread-safe. */
  public static final class Builder {
    private final TenantRef tenant;
    private String table;
    private String column;
    private KeyContext keyContext;
    private Boolean compact;

    private Builder(TenantRef tenant) {
      this.tenant = tenant;
    }

    /** The table ({@code name} or {@code schema.name}), as bound into every value's AAD. */
    public Builder table(String table) {
      this.table = Identifiers.checkQualified(table, "table");
      return this;
    }

    /** The column, as bound into every value's AAD. */
    public Builder column(String column) {
      this.column = Identifiers.check(column, "column");
      return this;
    }

    /**
     * The key context (coarse, sent to KMS, shown in CloudTrail); default {@code {table=<table>}}.
     * At most 8 pairs; the key context itself gets no tenant pair (the core sends {@code
     * panops:tenant=<tenant id>} to KMS beside it and records the tenant in the header). Use the
     * same one for columns that may share a data key, e.g. {@code {class=mail}}; never put a row id
     * in it (that would defeat the cache: one KMS call per row).
     */
    public Builder keyContext(KeyContext keyContext) {
      this.keyContext = Objects.requireNonNull(keyContext, "keyContext");
      return this;
    }

    /**
     * How new values are written; default {@link ValueFormat#COMPACT} exactly when the {@link
     * PanopsCrypto} has a data-key registry, else {@link ValueFormat#FRAMED}. Reading accepts both
     * formats either way.
     *
     * @throws IllegalStateException at {@link #build()} if {@code COMPACT} and there is no registry
     */
    public Builder valueFormat(ValueFormat format) {
      this.compact = Objects.requireNonNull(format, "format") == ValueFormat.COMPACT;
      return this;
    }

    /**
     * {@code valueFormat(compact ? COMPACT : FRAMED)}.
     *
     * @deprecated a boolean does not say what the mode is; use {@link #valueFormat(ValueFormat)}
     */
    @Deprecated(since = "0.3.0")
    public Builder compact(boolean compact) {
      return valueFormat(compact ? ValueFormat.COMPACT : ValueFormat.FRAMED);
    }

    /**
     * Builds.
     *
     * @throws IllegalStateException if the table or column is missing
     */
    public EncryptedColumn build() {
      if (table == null || column == null) {
        throw new IllegalStateException("table and column must be set");
      }
      KeyContext kc = keyContext != null ? keyContext : KeyContext.of("table", table);
      boolean available = tenant.get().compactAvailable();
      if (compact != null && compact && !available) {
        throw new IllegalStateException(
            "compact values need a DataKeyRegistry on the PanopsCrypto (PostgresDataKeyRegistry)");
      }
      return new EncryptedColumn(tenant, table, column, kc, compact != null ? compact : available);
    }
  }
}
