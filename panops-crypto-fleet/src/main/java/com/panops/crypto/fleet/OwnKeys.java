package com.panops.crypto.fleet;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What this worker tells the fleet about itself: the keys it uses (its interest, versioned, so the
 * others re-read it only when it changed) and the keys its own probes found alive. Times are
 * readings of the coordinator's ticker.
 */
final class OwnKeys {
  /** Keys this worker uses, with when the engine last said so. */
  private final ConcurrentHashMap<String, Long> interest = new ConcurrentHashMap<>();

  private final AtomicBoolean interestChanged = new AtomicBoolean(true);

  /** Keys this worker's probes found alive, with the probe's start. */
  private final ConcurrentHashMap<String, Long> attest = new ConcurrentHashMap<>();

  private final AtomicLong interestVersion = new AtomicLong(new SecureRandom().nextLong() >>> 2);

  void used(String keyArn, long now) {
    if (interest.put(keyArn, now) == null) {
      interestChanged.set(true);
    }
  }

  boolean uses(String keyArn) {
    return interest.containsKey(keyArn);
  }

  Set<String> interest() {
    return interest.keySet();
  }

  /** The keys this worker uses, sorted. */
  String[] sortedInterest() {
    String[] keys = interest.keySet().toArray(new String[0]);
    Arrays.sort(keys);
    return keys;
  }

  int interestSize() {
    return interest.size();
  }

  /** The next heartbeat must carry the interest (a new connection, or a failed write). */
  void interestChanged() {
    interestChanged.set(true);
  }

  /** Whether the interest changed since the last call. */
  boolean takeInterestChanged() {
    return interestChanged.getAndSet(false);
  }

  long interestVersion() {
    return interestVersion.get();
  }

  long nextInterestVersion() {
    return interestVersion.incrementAndGet();
  }

  void provenAlive(String keyArn, long probeStart) {
    attest.put(keyArn, probeStart);
  }

  void forgetAlive(String keyArn) {
    attest.remove(keyArn);
  }

  /**
   * Forgets keys not used for two intervals (at least 2 s), and proofs of life older than two
   * intervals.
   */
  void expire(long now, long intervalMs) {
    long keep = TimeUnit.MILLISECONDS.toNanos(Math.max(2 * intervalMs, 2000));
    for (Map.Entry<String, Long> e : interest.entrySet()) {
      if (now - e.getValue() > keep && interest.remove(e.getKey(), e.getValue())) {
        interestChanged.set(true);
      }
    }
    long attestKeep = TimeUnit.MILLISECONDS.toNanos(2 * intervalMs);
    attest.entrySet().removeIf(e -> now - e.getValue() > attestKeep);
  }

  /**
   * The attestation a heartbeat carries: a line per key found alive, sorted, with the age of its
   * probe in milliseconds, rounded up.
   */
  String attestation(long now) {
    StringBuilder text = new StringBuilder();
    for (Map.Entry<String, Long> e : new TreeMap<>(attest).entrySet()) {
      long ageMs = TimeUnit.NANOSECONDS.toMillis(now - e.getValue()) + 1;
      text.append(e.getKey()).append('\t').append(ageMs).append('\n');
    }
    return text.toString();
  }
}
