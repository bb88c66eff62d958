package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.cache.DataKeyCache;
import java.time.Duration;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Refresh ahead fails closed and never parks a request: a spent key's successor load queued behind
 * other keys' reloads is taken over by the request that needs it; close() fails every refresh still
 * queued; a reload ahead that KMS refuses drops the cached data key. On a fake clock and a fake KMS
 * (our own logic) whose data-key Decrypts can be held at a gate or refused.
 */
class RefreshAheadFailClosedTest extends RefreshAheadFixture {
  static final Duration DAGE = Duration.ofMinutes(2);
  static final Duration DLEAD = Duration.ofSeconds(5); // min(2 min / 16, 5 s)

  static KeyContext kc(int i) {
    return KeyContext.of("class", "m" + i);
  }

  /**
   * Four decrypt-side entries whose reloads ahead are held at the Decrypt gate, occupying all four
   * refresher threads; then an encrypt key of 4 messages with 4 spent, whose successor's load
   * (asked for at message 3) is queued behind them.
   */
  TenantCrypto saturateRefresherAndSpendAKey(PanopsCrypto c) throws Exception {
    PanopsCrypto writer = crypto(CacheSettings.defaults());
    byte[][] cts = new byte[4][];
    for (int i = 0; i < 4; i++) {
      cts[i] = writer.tenant("t").encrypt(new byte[10], kc(i), AAD);
    }
    TenantCrypto t = c.tenant("t");
    for (int i = 0; i < 4; i++) {
      t.decrypt(cts[i], kc(i), AAD);
    }
    kms.decryptGate.drainPermits();
    kms.decryptsHeld.drainPermits();
    ticker.advance(DAGE.minus(DLEAD).plusSeconds(1));
    for (int i = 0; i < 4; i++) {
      int n = i;
      // served from cache; each asks for a reload, held at the gate
      requests.submit(() -> t.decrypt(cts[n], kc(n), AAD)).get(10, TimeUnit.SECONDS);
    }
    assertTrue(kms.decryptsHeld.tryAcquire(4, 10, TimeUnit.SECONDS), "4 reloads held at KMS");
    for (int i = 0; i < 4; i++) {
      t.encrypt(new byte[1], kc(9), AAD); // #1 loads (GenerateDataKey is not held); #3 asks
    }
    return t;
  }

  /**
   * Interleaving guarded: key K is spent while its successor's load is still queued on the shared
   * refresher behind four other keys' reloads, each held at KMS for up to a whole call timeout. The
   * request that needs K's successor takes that queued load over and runs it itself; it never waits
   * behind unrelated work (KMS answers GenerateDataKey at once here; the Decrypts stay held).
   */
  @Test
  void aSpentKeysQueuedSuccessorLoad_isTakenOverByTheRequest() throws Exception {
    PanopsCrypto c =
        crypto(CacheSettings.builder().decryptMaxAge(DAGE).encryptMaxMessages(4).build());
    TenantCrypto t = saturateRefresherAndSpendAKey(c);
    long gdk = fake.generateDataKeyCalls.get();
    Future<byte[]> fifth = requests.submit(() -> t.encrypt(new byte[1], kc(9), AAD));
    try {
      byte[] ct = fifth.get(10, TimeUnit.SECONDS); // a hang guard, not a speed check
      assertArrayEquals(new byte[1], c.tenant("t").decrypt(ct, kc(9), AAD));
    } catch (TimeoutException e) {
      fail("encrypt #5 waited for its successor's load queued behind 4 reloads held at KMS");
    }
    assertEquals(gdk + 1, fake.generateDataKeyCalls.get(), "the successor, loaded once");
  }

  /**
   * Interleaving guarded: close() while a successor's load is still queued behind held reloads.
   * shutdownNow() drops the queued task; it must be failed (its pending load completed, its count
   * dropped), so that nothing waits for it and awaitRefreshes drains; the closed instance refuses.
   */
  @Test
  void closeWithAQueuedSuccessorLoad_failsIt_andRefuses() throws Exception {
    PanopsCrypto c =
        crypto(CacheSettings.builder().decryptMaxAge(DAGE).encryptMaxMessages(4).build());
    TenantCrypto t = saturateRefresherAndSpendAKey(c);
    c.close();
    kms.decryptGate.release(1_000_000); // the held reloads finish now
    assertTrue(
        c.cache.awaitRefreshes(Duration.ofSeconds(10)),
        "a refresh dropped by close() is still counted in flight");
    assertThrows(IllegalStateException.class, () -> t.encrypt(new byte[1], kc(9), AAD));
    assertThrows(
        IllegalStateException.class,
        () ->
            c.cache.encryptKey(
                new DataKeyCache.EncryptSlot("t", arn, kc(9)),
                s -> fail("a closed cache loaded a key")));
  }

  /**
   * Interleaving guarded: a decrypt-side entry is reloaded ahead; KMS refuses that ciphertext's
   * data key (InvalidCiphertext) while a probe shows the key alive. No Decrypt failure is ignored
   * or answered from cache: the cached entry is dropped, so the next decrypt asks KMS and fails as
   * a cold reader does.
   */
  @Test
  void aReloadRefusedByKms_dropsTheCachedKey() throws Exception {
    PanopsCrypto writer = crypto(CacheSettings.defaults());
    byte[] ct = writer.tenant("t").encrypt(new byte[10], kc(1), AAD);
    PanopsCrypto c = crypto(CacheSettings.builder().decryptMaxAge(DAGE).build());
    TenantCrypto t = c.tenant("t");
    assertArrayEquals(new byte[10], t.decrypt(ct, kc(1), AAD)); // cached
    kms.refuseDataKeys = true;
    // reference: what KMS's refusal means on the request path (a cold reader)
    PanopsCrypto cold = crypto(CacheSettings.builder().decryptMaxAge(DAGE).build());
    assertThrows(IntegrityException.class, () -> cold.tenant("t").decrypt(ct, kc(1), AAD));
    ticker.advance(DAGE.minus(DLEAD).plusSeconds(1));
    t.decrypt(ct, kc(1), AAD); // in the lead: served, asks for the reload; KMS refuses it
    assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(10)));
    assertFalse(c.isRevoked(arn), "the probe succeeded: a per-ciphertext refusal");
    assertThrows(
        IntegrityException.class,
        () -> t.decrypt(ct, kc(1), AAD),
        "KMS refused this ciphertext's data key, yet the cached key still decrypts it");
  }
}
