package com.panops.crypto.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.format.FrameKey;
import java.time.Duration;
import java.util.function.Function;

/**
 * The data-key cache, on Caffeine: an encrypt side keyed by (tenant, CMK, key context) and a
 * decrypt side keyed by {@link DecryptKey}. Both are bounded in size and age; Caffeine's {@code
 * get(key, loader)} gives single flight (one KMS call for N threads missing on one key). Tenants
 * are part of every key, so a tenant is never served another tenant's data key.
 *
 * <p>Entries evicted for age or size are dropped, not wiped: an in-flight stream may still hold the
 * key. Entries purged because their CMK was revoked, and everything at {@link #close()}, are wiped.
 * Thread-safe. Internal.
 */
public final class DataKeyCache {
  /** Encrypt-side cache key. */
  public record EncryptSlot(String tenant, String keyArn, Object keyContext) {}

  private final Cache<EncryptSlot, EncryptionKey> encrypt;
  private final Cache<DecryptKey, FrameKey> decrypt;

  public DataKeyCache(
      Duration encryptMaxAge,
      long encryptMaxEntries,
      Duration decryptMaxAge,
      long decryptMaxEntries,
      Ticker ticker) {
    this.encrypt =
        Caffeine.newBuilder()
            .ticker(ticker)
            .executor(Runnable::run)
            .expireAfterWrite(encryptMaxAge)
            .maximumSize(encryptMaxEntries)
            .build();
    this.decrypt =
        Caffeine.newBuilder()
            .ticker(ticker)
            .executor(Runnable::run)
            .expireAfterWrite(decryptMaxAge)
            .maximumSize(decryptMaxEntries)
            .build();
  }

  /** The encrypt-side entry, or {@code null}. */
  public EncryptionKey encryptKeyIfPresent(EncryptSlot slot) {
    return encrypt.getIfPresent(slot);
  }

  /** The encrypt-side entry, loaded once (single flight) if absent. */
  public EncryptionKey encryptKey(EncryptSlot slot, Function<EncryptSlot, EncryptionKey> loader) {
    return encrypt.get(slot, loader);
  }

  /** Removes {@code entry} if it is still the one cached at {@code slot}. */
  public void retire(EncryptSlot slot, EncryptionKey entry) {
    encrypt.asMap().remove(slot, entry);
  }

  /** The decrypt-side key for a look-up view, or {@code null}. */
  public FrameKey decryptKeyIfPresent(DecryptKey view) {
    return decrypt.getIfPresent(view);
  }

  /**
   * The decrypt-side key, loaded once (single flight) if absent; stores an owned copy of the key.
   */
  public FrameKey decryptKey(DecryptKey view, Function<DecryptKey, FrameKey> loader) {
    return decrypt.get(view.owned(), loader);
  }

  /**
   * Seeds the decrypt side with a data key just generated for encryption, so that reading back what
   * this process wrote needs no KMS {@code Decrypt}.
   */
  public void seedDecrypt(DecryptKey owned, FrameKey key) {
    decrypt.asMap().putIfAbsent(owned, key);
  }

  /** Drops every data key of {@code keyArn} on both sides; wipes them if {@code wipe}. */
  public void purge(String keyArn, boolean wipe) {
    encrypt
        .asMap()
        .entrySet()
        .removeIf(
            e -> {
              if (e.getKey().keyArn().equals(keyArn)) {
                if (wipe) {
                  e.getValue().key().destroy();
                }
                return true;
              }
              return false;
            });
    decrypt
        .asMap()
        .entrySet()
        .removeIf(
            e -> {
              if (e.getKey().keyArn.equals(keyArn)) {
                if (wipe) {
                  e.getValue().destroy();
                }
                return true;
              }
              return false;
            });
  }

  /** Number of entries (encrypt side, decrypt side), approximately. */
  public long[] sizes() {
    return new long[] {encrypt.estimatedSize(), decrypt.estimatedSize()};
  }

  /** Drops and wipes everything. */
  public void close() {
    encrypt.asMap().values().forEach(e -> e.key().destroy());
    decrypt.asMap().values().forEach(FrameKey::destroy);
    encrypt.invalidateAll();
    decrypt.invalidateAll();
  }
}
