package com.panops.crypto.jdbc;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A blind index: equality search on an encrypted column. Beside the encrypted column, a {@code
 * bytea} column holds {@code HMAC-SHA256(key, normalise(value))} truncated to {@link
 * Builder#length} bytes (16 by default); a lookup computes the same for the searched value and
 * compares it with {@code =}, so an ordinary B-tree index serves it.
 *
 * <pre>{@code
 * BlindIndex emailIdx = BlindIndex.builder(tenant, keyStore)
 *     .table("customer").column("email").normalizer(BlindIndex.Normalizer.caseInsensitive())
 *     .build();
 * // write: email.bind(ps, 2, value, id); emailIdx.bind(ps, 3, value);
 * // find:  SELECT id, email FROM customer WHERE tenant_id = ? AND email_bidx = ?
 * }</pre>
 *
 * <p><b>The key</b> is 32 random bytes per (tenant, table, column), stored wrapped by the tenant's
 * CMK in {@link BlindIndexKeyStore}, and unwrapped through the core on every use (served from the
 * data-key cache, so cheap, and refused once the CMK is revoked: the kill switch stops lookups as
 * it stops reads). Different tenants have different keys, so equal values in two tenants have
 * unrelated index values.
 *
 * <p><b>What it leaks</b> to anyone who can read the table (a DBA, a backup, an attacker with SQL
 * access), without any key: which rows hold <em>equal</em> (normalised) values, and therefore how
 * often each value occurs (frequency). With frequencies and outside knowledge (the most common
 * domain, a known customer's row), values can sometimes be guessed. It does not reveal values,
 * their order, or their length. Someone who can also run lookups (holds the tenant's live key) can
 * confirm a guessed value. Use it only on columns where equality is needed and the frequency
 * distribution is not itself sensitive; do not index low-cardinality columns (a boolean, a country)
 * that way. Truncating shorter than 16 bytes adds deliberate false positives (callers must then
 * re-check the decrypted value) and slightly blurs frequencies; it never hides equality.
 *
 * <p><b>Normalisation</b> decides which values count as equal; it is applied before the HMAC and
 * must never change for an existing index (changing it means recomputing the column). See {@link
 * Normalizer}. The stored encrypted value is not normalised.
 *
 * <p>Immutable and thread-safe.
 */
public final class BlindIndex {
  private final TenantRef tenant;
  private final BlindIndexKeyStore keys;
  private final String table;
  private final String column;
  private final Normalizer normalizer;
  private final int length;

  private BlindIndex(Builder b) {
    this.tenant = b.tenant;
    this.keys = b.keys;
    this.table = b.table;
    this.column = b.column;
    this.normalizer = b.normalizer;
    this.length = b.length;
  }

  /**
   * A builder for an index of tenant {@code tenantId}, with keys in {@code keys}, whose CMK is
   * resolved from {@code crypto}'s tenant directory on every call (it follows a CMK migration).
   *
   * @throws IllegalArgumentException if the directory does not know the tenant
   */
  public static Builder builder(PanopsCrypto crypto, String tenantId, BlindIndexKeyStore keys) {
    return new Builder(TenantRef.live(crypto, tenantId), keys);
  }

  /**
   * A builder for an index pinned to {@code tenant}'s keys as they were when it was obtained.
   * Prefer {@link #builder(PanopsCrypto, String, BlindIndexKeyStore)}.
   */
  public static Builder builder(TenantCrypto tenant, BlindIndexKeyStore keys) {
    return new Builder(TenantRef.pinned(tenant), keys);
  }

  /** The same index for another tenant (its own key), pinned to that snapshot of its keys. */
  public BlindIndex withTenant(TenantCrypto other) {
    Builder b = new Builder(TenantRef.pinned(other), keys);
    b.table = table;
    b.column = column;
    b.normalizer = normalizer;
    b.length = length;
    return new BlindIndex(b);
  }

  /**
   * The index value of {@code value} after normalisation; {@code null} gives {@code null} (NULL is
   * not indexed). The first call for a (tenant, table, column) may create and store its key.
   *
   * @throws SQLException with state {@link SqlStates#KEY_REVOKED} once the tenant's CMK is revoked
   */
  public byte[] compute(String value) throws SQLException {
    if (value == null) {
      return null;
    }
    return mac(normalizer.normalize(value).getBytes(StandardCharsets.UTF_8));
  }

  /** The index value of raw bytes (no normalisation); {@code null} gives {@code null}. */
  public byte[] compute(byte[] value) throws SQLException {
    if (value == null) {
      return null;
    }
    return mac(value);
  }

  /** Binds {@link #compute(String)} as parameter {@code index} ({@code bytea}; NULL for null). */
  public void bind(PreparedStatement ps, int index, String value) throws SQLException {
    byte[] v =
        value == null
            ? null
            : mac(normalizer.normalize(value).getBytes(StandardCharsets.UTF_8), ps.getConnection());
    if (v == null) {
      ps.setNull(index, Types.BINARY);
    } else {
      ps.setBytes(index, v);
    }
  }

  /** Binds {@link #compute(byte[])} as parameter {@code index}. */
  public void bind(PreparedStatement ps, int index, byte[] value) throws SQLException {
    byte[] v = value == null ? null : mac(value, ps.getConnection());
    if (v == null) {
      ps.setNull(index, Types.BINARY);
    } else {
      ps.setBytes(index, v);
    }
  }

  /**
   * Makes sure this index's key exists (creating and storing it if not) and caches its wrapped
   * form, on a connection of the key store's DataSource. Call it at start-up: a first use inside a
   * transaction that must create the key would otherwise borrow a second connection (see {@link
   * BlindIndexKeyStore}).
   */
  public void ensureKey() throws SQLException {
    keys.ensureKey(tenant.get(), table, column, params());
  }

  private byte[] mac(byte[] input) throws SQLException {
    return mac(input, null);
  }

  private byte[] mac(byte[] input, Connection caller) throws SQLException {
    byte[] key = keys.unwrappedKey(tenant.get(), table, column, caller, params());
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      byte[] full = mac.doFinal(input);
      byte[] out = Arrays.copyOf(full, length);
      Arrays.fill(full, (byte) 0);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    } finally {
      Arrays.fill(key, (byte) 0);
    }
  }

  /**
   * The parameters this index's key is bound to: normaliser name and length. A normaliser without
   * its own {@code toString} is named by its class.
   */
  String params() {
    Class<?> type = normalizer.getClass();
    String n = normalizer.toString();
    if (n == null || n.startsWith(type.getName() + "@")) {
      // no name of its own: a lambda's class name changes from run to run, so it is not checked
      n = type.isHidden() || type.isSynthetic() ? "custom" : type.getName();
    }
    return "v1;normalizer=" + n + ";length=" + length;
  }

  @Override
  public String toString() {
    return "BlindIndex[" + table + "." + column + ", " + length + " bytes, " + normalizer + "]";
  }

  /**
   * Maps a value to the form that is indexed: values with the same normal form are found by each
   * other. Must be deterministic and stable across releases. Implementations should override {@code
   * toString} with a name.
   */
  @FunctionalInterface
  public interface Normalizer {
    /** The normal form of {@code value}. */
    String normalize(String value);

    /** The value as given, code unit for code unit. */
    static Normalizer exact() {
      return new Named("exact", v -> v);
    }

    /**
     * Unicode NFKC, then leading and trailing white space stripped ({@link String#strip()}), then
     * lower case in {@link Locale#ROOT}: for e-mail addresses, user names and other identifiers
     * that people type in varying forms. {@code " Alice@Example.COM "} and {@code
     * "alice@example.com"} are equal; so are the full-width and ASCII forms of a letter.
     */
    static Normalizer caseInsensitive() {
      return new Named(
          "NFKC+strip+lower", v -> Normalizer.normalizeNfkc(v).strip().toLowerCase(Locale.ROOT));
    }

    /** Unicode NFKC only: canonically and compatibly equal text is equal. */
    static Normalizer nfkc() {
      return new Named("NFKC", Normalizer::normalizeNfkc);
    }

    private static String normalizeNfkc(String v) {
      return java.text.Normalizer.normalize(v, java.text.Normalizer.Form.NFKC);
    }
  }

  /** A built-in normaliser, named by its {@code toString}; equal only to itself. */
  private static final class Named implements Normalizer {
    private final String name;
    private final Normalizer f;

    Named(String name, Normalizer f) {
      this.name = name;
      this.f = f;
    }

    @Override
    public String normalize(String value) {
      return f.normalize(value);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  /** Builds a {@link BlindIndex}: table and column are required. Not thread-safe. */
  public static final class Builder {
    private final TenantRef tenant;
    private final BlindIndexKeyStore keys;
    private String table;
    private String column;
    private Normalizer normalizer = Normalizer.exact();
    private int length = 16;

    private Builder(TenantRef tenant, BlindIndexKeyStore keys) {
      this.tenant = tenant;
      this.keys = Objects.requireNonNull(keys, "keys");
    }

    /** The table of the indexed column (names the key). */
    public Builder table(String table) {
      this.table = Identifiers.checkQualified(table, "table");
      return this;
    }

    /** The indexed (encrypted) column (names the key; not the index column). */
    public Builder column(String column) {
      this.column = Identifiers.check(column, "column");
      return this;
    }

    /** The normalisation; default {@link Normalizer#exact()}. */
    public Builder normalizer(Normalizer n) {
      this.normalizer = Objects.requireNonNull(n, "normalizer");
      return this;
    }

    /** Bytes of HMAC kept: 8..32, default 16. */
    public Builder length(int bytes) {
      if (bytes < 8 || bytes > 32) {
        throw new IllegalArgumentException("blind index length must be 8..32 bytes");
      }
      this.length = bytes;
      return this;
    }

    /**
     * Builds.
     *
     * @throws IllegalStateException if the table or column is missing
     */
    public BlindIndex build() {
      if (table == null || column == null) {
        throw new IllegalStateException("table and column must be set");
      }
      return new BlindIndex(this);
    }
  }
}
