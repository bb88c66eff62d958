package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.MessageHeader;
import java.time.Duration;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Refresh ahead in the data-key cache, on a fake clock and a fake KMS whose answers can be held at
 * a gate: a request never waits for {@code GenerateDataKey} when a warm key reaches its age or
 * usage limit, the number of {@code GenerateDataKey} calls is the one without refresh, and the kill
 * switch's rules hold (a latched key is not refreshed; a refresh answered after a latch is thrown
 * away). "Does not wait" is asserted by holding the KMS answer at a closed gate: a request that
 * needed it could not return.
 */
class RefreshAheadTest extends RefreshAheadFixture {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final Duration AGE = Duration.ofMinutes(5);
  static final Duration LEAD = Duration.ofSeconds(5); // min(5 min / 16, 5 s)

  /** Runs {@code r} on another thread; fails if it does not return (it waits at a closed gate). */
  <T> T returns(java.util.concurrent.Callable<T> r) throws Exception {
    Future<T> f = requests.submit(r);
    try {
      return f.get(20, TimeUnit.SECONDS); // a hang guard, not a speed check
    } catch (java.util.concurrent.TimeoutException e) {
      fail("the request waited for a KMS answer held at the gate");
      return null;
    }
  }

  /**
   * Waits (bounded, 10 s) until {@code n} GenerateDataKey answers are recorded in {@code
   * kms.generated}. Not {@code gdkEntered}: the fake bumps that counter before the background
   * call's answer is decided and recorded, so reading {@code generated.get(n - 1)} right after
   * seeing the counter could find the list one short.
   */
  void awaitGenerated(int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    synchronized (kms.generated) {
      while (kms.generated.size() < n) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          break;
        }
        kms.generated.wait(left);
      }
      assertEquals(n, kms.generated.size(), "GenerateDataKey answers recorded");
    }
  }

  /** A key in use, and its successor's GenerateDataKey decided and held at the closed gate. */
  record HeldSuccessor(PanopsCrypto crypto, TenantCrypto tenant, byte[] first, String successor) {}

  /**
   * A key of age {@link #AGE} sends its first message; inside its refresh lead a request asks for
   * the successor, whose GenerateDataKey is decided and then held at the closed gate.
   */
  HeldSuccessor aSuccessorHeldAtTheGate() throws Exception {
    PanopsCrypto c = crypto(CacheSettings.builder().encryptMaxAge(AGE).build());
    TenantCrypto t = c.tenant("t");
    byte[] first = t.encrypt(new byte[10], KC, AAD);
    kms.closeGdk();
    ticker.advance(AGE.minus(LEAD).plusSeconds(1));
    returns(() -> t.encrypt(new byte[10], KC, AAD)); // asks for the successor: decided, held
    awaitGenerated(2);
    return new HeldSuccessor(c, t, first, kms.generated.get(1));
  }

  static String edk(byte[] ct) {
    return HexFormat.of().formatHex(MessageHeader.parse(ct, 0, ct.length).encryptedDataKey());
  }

  @Test
  void aWarmKeyReachingItsAge_doesNotMakeARequestWaitForGenerateDataKey() throws Exception {
    PanopsCrypto c = crypto(CacheSettings.builder().encryptMaxAge(AGE).build());
    TenantCrypto t = c.tenant("t");
    byte[] first = t.encrypt(new byte[10], KC, AAD);
    assertEquals(1, kms.gdkEntered.get());

    // Inside the refresh lead: the request is served by the current key and asks for the
    // successor, whose GenerateDataKey is held at the gate.
    kms.closeGdk();
    ticker.advance(AGE.minus(LEAD).plusSeconds(1));
    byte[] inLead = returns(() -> t.encrypt(new byte[10], KC, AAD));
    assertEquals(edk(first), edk(inLead));
    awaitGenerated(2); // the successor's, decided and held at the gate
    assertFalse(c.cache.awaitRefreshes(Duration.ofMillis(20)), "the successor's load is held");
    assertEquals(2, kms.gdkEntered.get(), "the successor was asked for once");
    // More requests while the successor is loading: served, no second GenerateDataKey.
    for (int i = 0; i < 5; i++) {
      returns(() -> t.encrypt(new byte[10], KC, AAD));
    }
    assertEquals(2, kms.gdkEntered.get(), "single flight");
    kms.openGdk();
    assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(10)));

    // Past the age: the successor takes over; no KMS call (the gate is closed again).
    kms.closeGdk();
    ticker.advance(LEAD);
    byte[] after = returns(() -> t.encrypt(new byte[10], KC, AAD));
    assertNotEquals(edk(first), edk(after), "the old key is not used past its age");
    assertEquals(kms.generated.get(1), edk(after), "the successor is the key refreshed ahead");
    assertEquals(2, fake.generateDataKeyCalls.get(), "as many GenerateDataKeys as without refresh");
    // Both messages read back.
    assertArrayEquals(new byte[10], t.decrypt(first, KC, AAD));
    assertArrayEquals(new byte[10], t.decrypt(after, KC, AAD));
  }

  /**
   * Keys rolled by an age under Caffeine's write tolerance. Caffeine does not move an entry's write
   * time when it is written again within 1 s of the last write ({@code EXPIRE_WRITE_TOLERANCE}:
   * expiry is a maximum lifetime, not a minimum hold). With a 1 s age, successive hand-overs are
   * about 940 ms apart, so the second successor kept the first one's write time and Caffeine
   * evicted it about 60 ms after it took over: the next request waited for GenerateDataKey (seen in
   * TailLatencyBenchmark as 7 request-thread GenerateDataKeys in 16 s). The encrypt side's Caffeine
   * expiry now allows for the tolerance (the age itself is checked on every use).
   */
  @Test
  void keysRolledByAShortAge_areEachHandedOverWithoutARequestWaiting() throws Exception {
    Duration age = Duration.ofSeconds(1);
    Duration lead = Duration.ofNanos(age.toNanos() / 16);
    PanopsCrypto c = crypto(CacheSettings.builder().encryptMaxAge(age).build());
    TenantCrypto t = c.tenant("t");
    t.encrypt(new byte[10], KC, AAD);
    long now = 0; // ticker time since the first key was born (the fake ticker stands still in KMS)
    long born = 0;
    long ms = 1_000_000;
    for (int round = 1; round <= 6; round++) {
      // inside the lead: the request asks for the successor, loaded in the background
      now = advanceTo(now, born + age.toNanos() - lead.toNanos() + ms);
      returns(() -> t.encrypt(new byte[10], KC, AAD));
      assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(10)));
      assertEquals(round + 1, kms.gdkEntered.get(), "one GenerateDataKey per key");
      long successorBorn = now;
      // KMS is closed from here: a request that needed it could not return. The key's age is
      // reached: its successor takes over; then, halfway through the successor's life, it still
      // serves (with the bug, Caffeine had evicted it by then)
      kms.closeGdk();
      now = advanceTo(now, born + age.toNanos() + ms);
      returns(() -> t.encrypt(new byte[10], KC, AAD));
      now = advanceTo(now, successorBorn + age.toNanos() / 2);
      returns(() -> t.encrypt(new byte[10], KC, AAD));
      kms.openGdk();
      born = successorBorn;
    }
    assertEquals(7, kms.gdkEntered.get(), "no GenerateDataKey beyond one per key");
  }

  private long advanceTo(long now, long target) {
    if (target > now) {
      ticker.advance(Duration.ofNanos(target - now));
      return target;
    }
    return now;
  }

  @Test
  void aKeyRolledByItsMessageLimit_isReplacedWithoutWaiting_andWithoutExtraCalls()
      throws Exception {
    PanopsCrypto c = crypto(CacheSettings.builder().encryptMaxMessages(4).build());
    TenantCrypto t = c.tenant("t");
    Map<String, Integer> perKey = new HashMap<>();
    perKey.merge(edk(t.encrypt(new byte[1], KC, AAD)), 1, Integer::sum); // GenerateDataKey #1
    for (int i = 0; i < 11; i++) {
      // every successor is loaded while its predecessor still serves; then the gate closes, so a
      // request that needed KMS could not return
      assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(10)));
      kms.closeGdk();
      byte[] ct = returns(() -> t.encrypt(new byte[1], KC, AAD));
      perKey.merge(edk(ct), 1, Integer::sum);
      kms.openGdk();
    }
    assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(10)));
    // 12 messages at 4 per key: 3 keys used, each exactly 4 times; the fourth key is the
    // successor loaded ahead for the 13th message (the same as a miss would load then).
    perKey.merge(edk(t.encrypt(new byte[0], KC, AAD)), 0, Integer::sum); // 13th, read its key
    assertEquals(4, perKey.size(), perKey.toString());
    assertEquals(
        List.of(4, 4, 4), perKey.values().stream().filter(v -> v > 0).sorted().limit(3).toList());
    assertEquals(4, fake.generateDataKeyCalls.get(), "one GenerateDataKey per key used");
  }

  @Test
  void aLatchedKey_isNeverRefreshed() throws Exception {
    PanopsCrypto c = crypto(CacheSettings.builder().encryptMaxAge(AGE).build());
    TenantCrypto t = c.tenant("t");
    t.encrypt(new byte[10], KC, AAD);
    fake.disable(arn);
    assertFalse(c.probe(arn));
    assertTrue(c.isRevoked(arn));
    ticker.advance(AGE.minus(LEAD).plusSeconds(1));
    assertThrows(KeyRevokedException.class, () -> t.encrypt(new byte[10], KC, AAD));
    assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(10)));
    assertEquals(1, kms.gdkEntered.get(), "no GenerateDataKey for a latched key");
  }

  @Test
  void aRefreshAnsweredAfterALatch_isThrownAway() throws Exception {
    HeldSuccessor h = aSuccessorHeldAtTheGate();
    // The customer disables the key; a probe latches it while the successor's answer is held.
    fake.disable(arn);
    assertFalse(h.crypto().probe(arn));
    kms.openGdk(); // the late answer arrives after the latch
    assertTrue(h.crypto().cache.awaitRefreshes(Duration.ofSeconds(10)));
    assertThrows(KeyRevokedException.class, () -> h.tenant().encrypt(new byte[10], KC, AAD));
    // Restored: the key answers again and one probe lifts the latch.
    fake.enable(arn);
    assertTrue(h.crypto().probe(arn));
    ticker.advance(LEAD);
    byte[] after = h.tenant().encrypt(new byte[10], KC, AAD);
    assertNotEquals(h.successor(), edk(after), "the refresh answered after the latch was used");
    assertNotEquals(edk(h.first()), edk(after), "a key from before the latch was used");
    assertEquals(3, fake.generateDataKeyCalls.get());
  }

  @Test
  void aPurgeWhileTheSuccessorLoads_dropsBoth() throws Exception {
    HeldSuccessor h = aSuccessorHeldAtTheGate();
    h.crypto().cache.purge(arn); // as the idle sweep does
    kms.openGdk();
    assertTrue(h.crypto().cache.awaitRefreshes(Duration.ofSeconds(10)));
    byte[] after = h.tenant().encrypt(new byte[10], KC, AAD);
    assertNotEquals(h.successor(), edk(after), "a successor of a purged key was installed");
    assertNotEquals(edk(h.first()), edk(after));
    assertEquals(3, fake.generateDataKeyCalls.get());
  }

  @Test
  void aWarmDecryptKeyReachingItsAge_isReloadedAhead() throws Exception {
    Duration age = Duration.ofMinutes(2);
    PanopsCrypto writer = crypto(CacheSettings.defaults());
    byte[] ct = writer.tenant("t").encrypt(new byte[10], KC, AAD);
    PanopsCrypto c = crypto(CacheSettings.builder().decryptMaxAge(age).build());
    TenantCrypto t = c.tenant("t");
    t.decrypt(ct, KC, AAD); // KMS Decrypt #1
    long decrypts = kms.dataKeyDecrypts.get();
    kms.decryptGate.drainPermits();
    ticker.advance(age.minus(LEAD).plusSeconds(1)); // lead: min(2 min / 16, 5 s)
    assertArrayEquals(new byte[10], returns(() -> t.decrypt(ct, KC, AAD)));
    kms.decryptGate.release(1_000_000);
    assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(10)));
    assertEquals(decrypts + 1, kms.dataKeyDecrypts.get(), "reloaded once, ahead");
    kms.decryptGate.drainPermits();
    ticker.advance(Duration.ofSeconds(30)); // past the first load's age
    assertArrayEquals(new byte[10], returns(() -> t.decrypt(ct, KC, AAD)));
    kms.decryptGate.release(1_000_000);
    assertEquals(decrypts + 1, kms.dataKeyDecrypts.get(), "served by the entry reloaded ahead");
  }
}
