package com.panops.crypto.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalListener;
import com.github.benmanes.caffeine.cache.Scheduler;
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
 * <p>Lifetime: every entry owns its own {@link FrameKey} (the two sides never share one), and every
 * removal — expiry, size eviction, a revocation purge, {@link #close()} — retires it, so its bytes
 * are zeroed as soon as the last operation that leased it is done. An in-flight stream keeps its
 * lease and is not broken by the removal; it is stopped by the latch check before its next frame
 * instead. Expired entries are removed on Caffeine's system scheduler, not only on the next access,
 * so a key does not stay in memory long after its maximum age.
 *
 * <p>Every entry carries the revocation epoch its load started in; callers discard an entry whose
 * epoch is older than the key's current one (it was loaded while a latch was being set, and the
 * purge may have missed it). Thread-safe. Internal.
 */
public final class DataKeyCache {
  /** Encrypt-side cache key. */
  public record EncryptSlot(String tenant, String keyArn, Object keyContext) {}

  /** A decrypt-side entry: the data key and the revocation epoch its load started in. */
  public static final class DecryptEntry {
    private final FrameKey key;
    private final long epoch;

    public DecryptEntry(FrameKey key, long epoch) {
      this.key = key;
      this.epoch = epoch;
    }

    /** The data key; lease it before use. */
    public FrameKey key() {
      return key;
    }

    /** The revocation epoch of the key's CMK when the load of this entry started. */
    public long epoch() {
      return epoch;
    }

    @Override
    public String toString() {
      return "DecryptEntry[epoch=" + epoch + "]";
    }
  }

  private final Cache<EncryptSlot, EncryptionKey> encrypt;
  private final Cache<DecryptKey, DecryptEntry> decrypt;

  public DataKeyCache(
      Duration encryptMaxAge,
      long encryptMaxEntries,
      Duration decryptMaxAge,
      long decryptMaxEntries,
      Ticker ticker) {
    RemovalListener<EncryptSlot, EncryptionKey> retireEncrypt =
        (k, v, cause) -> {
          if (v != null) {
            v.key().retire();
          }
        };
    RemovalListener<DecryptKey, DecryptEntry> retireDecrypt =
        (k, v, cause) -> {
          if (v != null) {
            v.key().retire();
          }
        };
    this.encrypt =
        Caffeine.newBuilder()
            .ticker(ticker)
            .executor(Runnable::run)
            .scheduler(Scheduler.systemScheduler())
            .expireAfterWrite(encryptMaxAge)
            .maximumSize(encryptMaxEntries)
            .removalListener(retireEncrypt)
            .build();
    this.decrypt =
        Caffeine.newBuilder()
            .ticker(ticker)
            .executor(Runnable::run)
            .scheduler(Scheduler.systemScheduler())
            .expireAfterWrite(decryptMaxAge)
            .maximumSize(decryptMaxEntries)
            .removalListener(retireDecrypt)
            .build();
  }

  /** The encrypt-side entry, or {@code null}. */
  public EncryptionKey encryptKeyIfPresent(EncryptSlot slot) {
    return encrypt.getIfPresent(slot);
  }

  /**
   * The encrypt-side entry, loaded once (single flight) if absent. The loader runs inside the
   * cache's compute: it must not touch this cache (no purge) and should not wait on other work.
   */
  public EncryptionKey encryptKey(EncryptSlot slot, Function<EncryptSlot, EncryptionKey> loader) {
    return encrypt.get(slot, loader);
  }

  /** Removes (and so retires) {@code entry} if it is still the one cached at {@code slot}. */
  public void retire(EncryptSlot slot, EncryptionKey entry) {
    encrypt.asMap().remove(slot, entry);
  }

  /** The decrypt-side entry for a look-up view, or {@code null}. */
  public DecryptEntry decryptKeyIfPresent(DecryptKey view) {
    return decrypt.getIfPresent(view);
  }

  /**
   * The decrypt-side entry, loaded once (single flight) if absent; stores an owned copy of the
   * look-up key. Same loader rules as {@link #encryptKey}.
   */
  public DecryptEntry decryptKey(DecryptKey view, Function<DecryptKey, DecryptEntry> loader) {
    return decrypt.get(view.owned(), loader);
  }

  /** Removes (and so retires) {@code entry} if it is still the one cached for {@code view}. */
  public void discard(DecryptKey view, DecryptEntry entry) {
    decrypt.asMap().remove(view, entry);
  }

  /**
   * Seeds the decrypt side with a data key just generated for encryption, so that reading back what
   * this process wrote needs no KMS {@code Decrypt}. {@code entry} must own its key (a {@link
   * FrameKey#copy()}); if the slot is taken, the key is retired here.
   */
  public void seedDecrypt(DecryptKey owned, DecryptEntry entry) {
    if (decrypt.asMap().putIfAbsent(owned, entry) != null) {
      entry.key().retire();
    }
  }

  /**
   * Drops every data key of {@code keyArn} on both sides and retires it (its bytes are zeroed when
   * the operations that hold leases on it finish).
   */
  public void purge(String keyArn) {
    encrypt
        .asMap()
        .entrySet()
        .removeIf(
            e -> {
              if (e.getKey().keyArn().equals(keyArn)) {
                e.getValue().key().retire();
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
                e.getValue().key().retire();
                return true;
              }
              return false;
            });
  }

  /** Number of entries (encrypt side, decrypt side), approximately. */
  public long[] sizes() {
    return new long[] {encrypt.estimatedSize(), decrypt.estimatedSize()};
  }

  /** Drops and retires everything. */
  public void close() {
    encrypt.asMap().values().forEach(e -> e.key().retire());
    decrypt.asMap().values().forEach(e -> e.key().retire());
    encrypt.invalidateAll();
    decrypt.invalidateAll();
  }
}
