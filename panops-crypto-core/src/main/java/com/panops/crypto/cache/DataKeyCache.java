package com.panops.crypto.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalListener;
import com.github.benmanes.caffeine.cache.Scheduler;
import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.format.FrameKey;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The data-key cache, on Caffeine: an encrypt side keyed by (tenant, CMK, key context) and a
 * decrypt side keyed by {@link DecryptKey}. Both are bounded in size and age; a load is single
 * flight (one KMS call for N threads missing on one key) and holds no lock of the map while KMS
 * answers (see {@link SingleFlight}). Tenants are part of every key, so a tenant is never served
 * another tenant's data key.
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
 *
 * <p>Refresh ahead: no request waits for KMS when a warm key reaches a limit. The request that
 * finds an encrypt-side key within its refresh lead of its maximum age, or past 3/4 of its message,
 * byte or frame limit, asks for a successor (one per key: single flight), which a background thread
 * loads through the same loader rules (a latched key is not loaded; a load that answers after a
 * latch is discarded by the epoch check). The successor is installed only when the current key can
 * serve no more (spent, or at its maximum age): so a key rolled by a usage limit costs exactly one
 * {@code GenerateDataKey}, as without refresh, and a key rolled by age lives its age minus the lead
 * (the lead is {@code min(maxAge / 16, 5 s)}). A request that finds a key spent while its successor
 * is still loading takes that one load over if it is still queued (it runs it itself, never behind
 * other keys' refreshes), or waits for it at most the probe timeout if it is running (else {@link
 * com.panops.crypto.KmsUnavailableException}), rather than starting a second. The old key is
 * retired through its leases when the successor replaces it; a successor whose key leaves the cache
 * first (purge, eviction, close) is retired with it. Encrypt-side entries stay in Caffeine for one
 * lead past their age so that the hand-over can happen; the age itself is enforced on every use
 * ({@link EncryptionKey#expired}). On the decrypt side, a hit within the lead of the entry's age
 * reloads it in the background ({@code Decrypt} of the same encrypted data key) and replaces it if
 * it is still cached; the same epoch rules apply. A reload that fails, whatever KMS answered, drops
 * the entry (no Decrypt failure is answered from cache).
 */
public final class DataKeyCache {
  /** Encrypt-side cache key. */
  public record EncryptSlot(String tenant, String keyArn, Object keyContext) {}

  /** A decrypt-side entry: the data key and the revocation epoch its load started in. */
  public static final class DecryptEntry {
    private final FrameKey key;
    private final long epoch;

    /** Ticker time of the load (stamped when the entry enters the cache). */
    volatile long bornNanos = Long.MAX_VALUE;

    final java.util.concurrent.atomic.AtomicBoolean refreshing =
        new java.util.concurrent.atomic.AtomicBoolean();

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
  private final SingleFlight<EncryptSlot, EncryptionKey> encryptLoads;
  private final SingleFlight<DecryptKey, DecryptEntry> decryptLoads;
  private final Ticker ticker;
  private final long encryptMaxAgeNanos;
  private final long encryptLeadNanos;
  private final long decryptMaxAgeNanos;
  private final long decryptLeadNanos;
  private final Refresher refresher = new Refresher();
  private volatile boolean closed;

  /** Caffeine's {@code EXPIRE_WRITE_TOLERANCE} (package-private there): see the encrypt side. */
  static final Duration CAFFEINE_WRITE_TOLERANCE = Duration.ofSeconds(1);

  /** The refresh lead for a maximum age: {@code min(maxAge / 16, 5 s)}. */
  static long lead(Duration maxAge) {
    return Math.min(maxAge.toNanos() / 16, TimeUnit.SECONDS.toNanos(5));
  }

  public DataKeyCache(
      Duration encryptMaxAge,
      long encryptMaxEntries,
      Duration decryptMaxAge,
      long decryptMaxEntries,
      Ticker ticker) {
    this.ticker = ticker;
    this.encryptMaxAgeNanos = encryptMaxAge.toNanos();
    this.encryptLeadNanos = lead(encryptMaxAge);
    this.decryptMaxAgeNanos = decryptMaxAge.toNanos();
    this.decryptLeadNanos = lead(decryptMaxAge);
    RemovalListener<EncryptSlot, EncryptionKey> retireEncrypt =
        (k, v, cause) -> {
          if (v != null) {
            v.key().retire();
            v.dropSuccessor();
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
            // one lead past the age, for the hand-over, plus Caffeine's write tolerance: a write
            // within 1 s of the last one keeps the old write time (EXPIRE_WRITE_TOLERANCE), so a
            // successor handed over less than 1 s after its predecessor could be evicted up to 1 s
            // early and a request would wait for GenerateDataKey (keys aged under about 1.07 s).
            // The age itself is enforced on every use (EncryptionKey#expired).
            .expireAfterWrite(
                encryptMaxAge.plusNanos(encryptLeadNanos).plus(CAFFEINE_WRITE_TOLERANCE))
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
    this.encryptLoads =
        new SingleFlight<>(
            encrypt,
            e -> {
              e.key().retire();
              e.dropSuccessor();
            },
            () -> closed,
            this::checkOpen);
    this.decryptLoads =
        new SingleFlight<>(decrypt, e -> e.key().retire(), () -> closed, this::checkOpen);
  }

  /** The encrypt-side entry, or {@code null}. */
  public EncryptionKey encryptKeyIfPresent(EncryptSlot slot) {
    return encrypt.getIfPresent(slot);
  }

  /**
   * The encrypt-side entry, loaded once (single flight) if absent. The loader holds no lock of the
   * map (see {@link SingleFlight}); it must not load the same slot again (it would wait for
   * itself).
   */
  public EncryptionKey encryptKey(EncryptSlot slot, Function<EncryptSlot, EncryptionKey> loader) {
    checkOpen();
    return encryptLoads.load(
        slot,
        k -> {
          EncryptionKey e = loader.apply(k);
          if (e != null) {
            e.born(ticker.read(), encryptMaxAgeNanos, encryptLeadNanos);
          }
          return e;
        });
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("the data-key cache is closed");
    }
  }

  /** The cache's clock (ticker time). */
  public long now() {
    return ticker.read();
  }

  /**
   * Called after a request reserved a message on {@code entry} (the entry cached at {@code slot}):
   * if the entry nears a limit and no successor was asked for, asks for one, loaded by {@code load}
   * on a background thread. {@code load} returns the new key, or {@code null} if it could not (it
   * must itself apply the latch, epoch and failure rules). Never blocks on KMS.
   */
  public void refreshIfDue(
      EncryptSlot slot, EncryptionKey entry, long now, Supplier<EncryptionKey> load) {
    if (!entry.refreshDue(now) || closed) {
      return;
    }
    EncryptionKey.Pending pending = new EncryptionKey.Pending();
    pending.body =
        () -> {
          EncryptionKey next = null;
          try {
            next = load.get();
          } finally {
            if (next == null) {
              entry.successor.compareAndSet(pending, EncryptionKey.FAILED);
            } else {
              next.born(ticker.read(), encryptMaxAgeNanos, encryptLeadNanos);
              if (!entry.successor.compareAndSet(pending, next)) {
                next.key().retire(); // the entry left the cache meanwhile
              }
            }
            pending.complete(null);
          }
        };
    if (!entry.successor.compareAndSet(null, pending)) {
      return;
    }
    // Whoever claims the load first runs it: a refresher thread, or a request that finds the key
    // spent while the load is still queued (behind other keys' refreshes: it does not wait there).
    refresher.submit(
        () -> {
          if (pending.claim()) {
            pending.body.run();
          }
        },
        () -> {
          if (pending.claim()) {
            entry.successor.compareAndSet(pending, EncryptionKey.FAILED);
            pending.complete(null);
          }
        });
  }

  /**
   * {@code entry} (cached at {@code slot}) can serve no more: installs its successor if one is
   * ready and returns true; otherwise removes (and so retires) {@code entry} and returns false.
   * Either way the caller looks the slot up again.
   *
   * <p>If the successor's load is still queued, the caller runs it here (one KMS call, as the
   * refresher would have made; it never waits behind other keys' refreshes). If it is running on a
   * refresher thread, the caller waits for it at most {@code maxWait} (the probe timeout).
   *
   * @throws com.panops.crypto.KmsUnavailableException if the running load did not finish within
   *     {@code maxWait}, or the wait was interrupted (fail closed; the load goes on)
   * @throws IllegalStateException if the cache is closed
   */
  public boolean handOver(EncryptSlot slot, EncryptionKey entry, Duration maxWait) {
    checkOpen();
    if (entry.successor.get() instanceof EncryptionKey.Pending p) {
      if (p.claim()) {
        p.body.run(); // still queued: load it here
      } else {
        try {
          p.get(maxWait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new com.panops.crypto.KmsUnavailableException(
              "interrupted while waiting for a data key of " + entry.keyArn(), e);
        } catch (java.util.concurrent.TimeoutException e) {
          throw new com.panops.crypto.KmsUnavailableException(
              "KMS did not give a data key for " + entry.keyArn() + " within " + maxWait, null);
        } catch (java.util.concurrent.ExecutionException e) {
          // completed normally always; nothing to do
        }
      }
    }
    // The swap happens inside the map's compute, so that requests finding the same spent key
    // serialize: the first installs the successor, the others see it installed (none of them
    // removes the slot under the first's feet, which would waste the successor).
    boolean[] lookAgain = {false};
    encrypt
        .asMap()
        .computeIfPresent(
            slot,
            (k, v) -> {
              if (v != entry) {
                lookAgain[0] = true; // already replaced
                return v;
              }
              if (entry.successor.get() instanceof EncryptionKey next
                  && entry.successor.compareAndSet(next, EncryptionKey.TAKEN)) {
                lookAgain[0] = true;
                return next; // the entry is retired by the removal listener (REPLACED)
              }
              return v;
            });
    if (lookAgain[0]) {
      return true;
    }
    retire(slot, entry);
    return false;
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
    checkOpen();
    DecryptEntry hit = decrypt.getIfPresent(view);
    if (hit != null) {
      return hit;
    }
    return decryptLoads.load(
        view.owned(),
        k -> {
          DecryptEntry e = loader.apply(k);
          if (e != null) {
            e.bornNanos = ticker.read();
          }
          return e;
        });
  }

  /**
   * Called after a hit on {@code entry} for {@code view}: if the entry is within the refresh lead
   * of its maximum age, reloads it on a background thread with {@code load} (same rules as the
   * loader of {@link #decryptKey}; {@code null} if it could not) and replaces it if it is still the
   * one cached. Never blocks on KMS.
   */
  public void refreshIfDue(
      DecryptKey view, DecryptEntry entry, Function<DecryptKey, DecryptEntry> load) {
    long born = entry.bornNanos;
    if (born == Long.MAX_VALUE
        || ticker.read() - (born + decryptMaxAgeNanos - decryptLeadNanos) < 0
        || closed
        || !entry.refreshing.compareAndSet(false, true)) {
      return;
    }
    DecryptKey owned = view.owned();
    refresher.submit(
        () -> {
          DecryptEntry fresh = null;
          try {
            fresh = load.apply(owned);
          } finally {
            if (fresh == null) {
              // The reload failed (KMS refused this ciphertext, the key is latched, closed): no
              // Decrypt failure is ignored nor answered from cache, so the entry is dropped and the
              // next request asks KMS (and meets the per-ciphertext rules there).
              decrypt.asMap().remove(owned, entry);
            }
          }
          if (fresh != null) {
            fresh.bornNanos = ticker.read();
            if (!decrypt.asMap().replace(owned, entry, fresh)) {
              fresh.key().retire(); // gone (expired, purged) or replaced meanwhile
            }
          }
        },
        () -> {});
  }

  /** Background refreshes started so far (encrypt and decrypt side). */
  public long refreshesStarted() {
    return refresher.started();
  }

  /** Waits up to {@code timeout} until no background refresh is running; true if none is. */
  public boolean awaitRefreshes(Duration timeout) throws InterruptedException {
    return refresher.awaitIdle(timeout);
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
    entry.bornNanos = ticker.read();
    if (decrypt.asMap().putIfAbsent(owned, entry) != null) {
      entry.key().retire();
    } else if (closed) {
      decrypt.asMap().remove(owned, entry); // close() ran meanwhile: retired by the listener
    }
  }

  /**
   * Drops every data key of {@code keyArn} on both sides and retires it (its bytes are zeroed when
   * the operations that hold leases on it finish).
   */
  public void purge(String keyArn) {
    // By key, not by (key, value), and the removal listener retires: an entry replaced in between
    // (a hand-over installing the successor, a decrypt-side reload) is removed too, and no value
    // is retired without being removed.
    encrypt.asMap().keySet().removeIf(k -> k.keyArn().equals(keyArn));
    decrypt.asMap().keySet().removeIf(k -> k.keyArn.equals(keyArn));
  }

  /** Number of entries (encrypt side, decrypt side), approximately. */
  public long[] sizes() {
    return new long[] {encrypt.estimatedSize(), decrypt.estimatedSize()};
  }

  /**
   * Drops and retires everything; a refresh still queued is failed (a request waiting for it looks
   * again). From then on the cache refuses loads and hand-overs with {@link IllegalStateException}.
   */
  public void close() {
    closed = true;
    // the tasks still queued are never run: fail each (its pending load completes, its count drops)
    refresher.close();
    encrypt
        .asMap()
        .values()
        .forEach(
            e -> {
              e.key().retire();
              e.dropSuccessor();
            });
    decrypt.asMap().values().forEach(e -> e.key().retire());
    encrypt.invalidateAll();
    decrypt.invalidateAll();
  }
}
