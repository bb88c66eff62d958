package com.panops.crypto.cache;

import com.github.benmanes.caffeine.cache.Cache;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Single flight without holding a lock during the KMS call. Caffeine's {@code get(key, loader)}
 * runs the loader inside {@code ConcurrentHashMap.compute}, which holds the lock of the key's hash
 * bin for the whole call: every write to another key of that bin waits for KMS meanwhile. A
 * revocation purge removes entries of the latched CMK, so it could wait (up to the KMS timeout)
 * behind an unrelated load that happened to share a bin, stalling the latching thread (a probe
 * thread, or the request that met the failure) and its REVOKED event; seen as a 10 s stall in about
 * 2.5% of runs of {@code ProbeOrderingTest}, pinned by {@code
 * DataKeyCacheLoadTest.aPurge_neverWaitsForALoadInFlight}. So the KMS call runs outside any map
 * lock: the first thread to miss registers a future in {@code loads} and loads; the others wait for
 * that future (and, if it fails or gives nothing, try again themselves, as they would have with
 * Caffeine). The result is then inserted with {@code putIfAbsent}.
 *
 * <p>Why a purge cannot miss a key: the loader checks the key's revocation epoch after KMS answers
 * and discards the key if a latch moved it. A latch that comes after that check and before the
 * insertion finds nothing to purge, but the entry it misses carries the old epoch, and the caller
 * that loaded it checks the epoch before use and removes it at once (every caller of {@link
 * DataKeyCache#encryptKey} and {@link DataKeyCache#decryptKey} does). A latch after the insertion
 * purges it. A close after the insertion is caught here: the entry is removed again.
 */
final class SingleFlight<K, V> {
  private final Cache<K, V> cache;
  private final ConcurrentHashMap<K, CompletableFuture<V>> loads = new ConcurrentHashMap<>();
  private final Consumer<V> discard;
  private final BooleanSupplier closed;
  private final Runnable checkOpen;

  /**
   * @param discard retires a loaded value that lost the race to a seed
   * @param checkOpen throws if the cache is closed
   */
  SingleFlight(Cache<K, V> cache, Consumer<V> discard, BooleanSupplier closed, Runnable checkOpen) {
    this.cache = cache;
    this.discard = discard;
    this.closed = closed;
    this.checkOpen = checkOpen;
  }

  /** The loads in flight, by key (for tests: it must drain). */
  Map<K, CompletableFuture<V>> inFlight() {
    return loads;
  }

  /** The value cached at {@code key}, loaded by one thread at a time with {@code loader}. */
  V load(K key, Function<K, V> loader) {
    for (; ; ) {
      checkOpen.run(); // a load refused by close() sends its waiters round again: they stop here
      V present = cache.getIfPresent(key);
      if (present != null) {
        return present;
      }
      CompletableFuture<V> mine = new CompletableFuture<>();
      CompletableFuture<V> theirs;
      try {
        theirs = loads.putIfAbsent(key, mine);
      } catch (RuntimeException | Error e) {
        // e.g. OutOfMemoryError while the map resizes, possibly after storing ours: never leave a
        // future registered that nobody completes (every later miss would wait for it)
        loads.remove(key, mine);
        mine.completeExceptionally(e);
        throw e;
      }
      if (theirs == null) {
        return loadAsOwner(key, loader, mine);
      }
      V v = awaitOwner(theirs);
      if (v != null) {
        return v;
      }
    }
  }

  /** Another thread's load: its value, or {@code null} if it failed or gave nothing (try again). */
  private V awaitOwner(CompletableFuture<V> theirs) {
    try {
      return theirs.join();
    } catch (CompletionException | CancellationException e) {
      return null; // this thread may load next, and meet the failure rules itself
    }
  }

  private V loadAsOwner(K key, Function<K, V> loader, CompletableFuture<V> mine) {
    V v = null;
    try {
      // a load that finished between the look-up and our registration
      v = cache.getIfPresent(key);
      if (v == null) {
        v = loader.apply(key);
        if (v != null) {
          V other = cache.asMap().putIfAbsent(key, v);
          if (other != null) {
            // only a decrypt-side seed (a key this process just generated) can be there first
            discard.accept(v);
            v = other;
          } else if (closed.getAsBoolean()) {
            cache.asMap().remove(key, v); // close() ran meanwhile: retired by the listener
            checkOpen.run();
          }
        }
      }
      return v;
    } catch (RuntimeException | Error e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      loads.remove(key, mine);
      mine.complete(v); // no effect if completed exceptionally
    }
  }
}
