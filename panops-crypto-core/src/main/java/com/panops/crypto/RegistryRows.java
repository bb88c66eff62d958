package com.panops.crypto;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.format.FrameKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The core's cache of {@link DataKeyRegistry} rows, keyed by (tenant, key id): single flight on a
 * miss, bounded in size and age, no negative caching. A row holds nothing secret; the data key it
 * wraps is obtained through the data-key cache and KMS (and so through the kill switch) on every
 * use, never from here. Thread-safe. Internal.
 */
final class RegistryRows {
  static final long MAX_ROWS = 100_000;
  static final Duration MAX_AGE = Duration.ofMinutes(15);

  private record Key(String tenant, long keyId) {}

  /** A cached row, with what was derived from it once. */
  static final class Row {
    final RegisteredDataKey row;

    /** {@code u16 tenantLen || tenant || keyContext} of the row. */
    final byte[] context;

    /**
     * The data-key object the row's commitment was last verified against (identity only): a
     * decryption that leases the same object needs no new SHA-512. Any other object (reloaded from
     * KMS, re-wrapped row) is verified again.
     */
    volatile FrameKey verifiedFor;

    Row(RegisteredDataKey row) {
      this.row = row;
      this.context =
          CompactFormat.context(
              row.tenantId().getBytes(StandardCharsets.UTF_8), row.keyContextRef());
    }
  }

  private final DataKeyRegistry registry;
  private final Cache<Key, Row> rows;

  RegistryRows(DataKeyRegistry registry, Ticker ticker) {
    this.registry = registry;
    this.rows =
        Caffeine.newBuilder()
            .ticker(ticker)
            .executor(Runnable::run)
            .expireAfterWrite(MAX_AGE)
            .maximumSize(MAX_ROWS)
            .build();
  }

  /** The row, from the cache or the registry (single flight); {@code null} if there is none. */
  Row get(String tenant, long keyId) {
    return rows.get(new Key(tenant, keyId), k -> load(k.tenant, k.keyId));
  }

  /** The row as the registry has it now (bypassing and then replacing the cached one). */
  Row fresh(String tenant, long keyId) {
    Key k = new Key(tenant, keyId);
    Row r = load(tenant, keyId);
    if (r == null) {
      rows.invalidate(k);
    } else {
      rows.put(k, r);
    }
    return r;
  }

  private Row load(String tenant, long keyId) {
    RegisteredDataKey r;
    try {
      r = registry.lookup(tenant, keyId);
    } catch (PanopsCryptoException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      // the row exists but cannot form a RegisteredDataKey: altered, as SECURITY.md says
      throw new RegisteredKeyException(keyId, false, "malformed registry row", e);
    } catch (RuntimeException e) {
      throw new DataKeyRegistryException(
          "data-key registry lookup failed (" + e.getClass().getSimpleName() + ")", e);
    }
    return r == null ? null : new Row(r);
  }

  /** Stores a new row once; see {@link DataKeyRegistry#register}. */
  boolean register(RegisteredDataKey row) {
    try {
      return registry.register(row);
    } catch (PanopsCryptoException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new DataKeyRegistryException(
          "data-key registry insert failed (" + e.getClass().getSimpleName() + ")", e);
    }
  }

  /** Caches a row this process just registered. */
  void seed(RegisteredDataKey row) {
    rows.put(new Key(row.tenantId(), row.keyId()), new Row(row));
  }

  /** Drops every cached row (tests, close). */
  void clear() {
    rows.invalidateAll();
  }
}
