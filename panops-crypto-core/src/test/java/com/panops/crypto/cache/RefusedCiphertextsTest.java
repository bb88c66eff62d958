package com.panops.crypto.cache;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.FakeTicker;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.kms.KmsCallExceptions;
import com.panops.crypto.metrics.CryptoMetrics;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The memory of refused ciphertexts: exact, bounded, expiring, and only ever a refusal. */
class RefusedCiphertextsTest {
  static final byte[] KC = "class=mail".getBytes(StandardCharsets.UTF_8);
  final FakeTicker ticker = new FakeTicker();
  final AtomicInteger fromKms = new AtomicInteger();
  final AtomicInteger fromMemory = new AtomicInteger();
  final RefusedCiphertexts refusals =
      new RefusedCiphertexts(
          new CryptoMetrics() {
            @Override
            public void ciphertextRefused(boolean remembered) {
              (remembered ? fromMemory : fromKms).incrementAndGet();
            }
          },
          ticker);

  static DecryptKey view(String tenant, String arn, byte[] kc, byte[] edk) {
    return DecryptKey.view(tenant, arn, 1, kc, java.util.Arrays.hashCode(kc), edk, 0, edk.length);
  }

  static byte[] edk(int seed) {
    byte[] b = new byte[184];
    new java.util.Random(seed).nextBytes(b);
    return b;
  }

  static KmsCallException refusal() {
    return KmsCallExceptions.of(RevocationReason.INVALID_CIPHERTEXT, "InvalidCiphertextException");
  }

  @Test
  void aRefusal_isFoundOnlyForTheSameBytesContextTenantAndKey() {
    byte[] bad = edk(1);
    refusals.remember(view("acme", "arn:k", KC, bad).owned(), refusal());
    assertNotNull(refusals.find(view("acme", "arn:k", KC, bad.clone())));
    for (int i = 0; i < bad.length; i++) {
      byte[] other = bad.clone();
      other[i] ^= 1;
      assertNull(refusals.find(view("acme", "arn:k", KC, other)), "byte " + i);
    }
    byte[] longer = java.util.Arrays.copyOf(bad, bad.length + 1);
    assertNull(refusals.find(view("acme", "arn:k", KC, longer)));
    assertNull(refusals.find(view("globex", "arn:k", KC, bad)));
    assertNull(refusals.find(view("acme", "arn:other", KC, bad)));
    assertNull(
        refusals.find(view("acme", "arn:k", "class=chat".getBytes(StandardCharsets.UTF_8), bad)));
  }

  @Test
  void aRefusal_isJudgedOnlyWhenTold_andItsViewNeverStoresTheCallersBuffer() {
    byte[] buf = edk(2);
    DecryptKey owned = view("acme", "arn:k", KC, buf).owned();
    refusals.remember(owned, refusal());
    java.util.Arrays.fill(buf, (byte) 0); // the caller reuses its buffer
    byte[] again = edk(2);
    RefusedCiphertexts.Refusal r = refusals.find(view("acme", "arn:k", KC, again));
    assertNotNull(r, "stored as an owned copy");
    assertFalse(r.judged());
    refusals.judge(view("acme", "arn:k", KC, again));
    assertTrue(r.judged());
    assertEquals("InvalidCiphertextException", r.refusal().errorCode());
  }

  @Test
  void aRefusal_isForgottenAfterItsExpiry() {
    DecryptKey k = view("acme", "arn:k", KC, edk(3));
    refusals.remember(k.owned(), refusal());
    ticker.advance(RefusedCiphertexts.EXPIRY.minusSeconds(1));
    assertNotNull(refusals.find(k));
    ticker.advance(java.time.Duration.ofSeconds(2));
    assertNull(refusals.find(k), "expired: KMS is asked again");
  }

  @Test
  void atMostMaxEntriesAreKept() {
    for (int i = 0; i < RefusedCiphertexts.MAX_ENTRIES * 2; i++) {
      refusals.remember(view("acme", "arn:k", KC, edk(i)).owned(), refusal());
    }
    int kept = 0;
    for (int i = 0; i < RefusedCiphertexts.MAX_ENTRIES * 2; i++) {
      if (refusals.find(view("acme", "arn:k", KC, edk(i))) != null) {
        kept++;
      }
    }
    assertTrue(kept <= RefusedCiphertexts.MAX_ENTRIES, "kept " + kept);
    assertTrue(kept > 0);
  }

  @Test
  void everyRefusedRead_isCounted_byWhereItsAnswerCameFrom() {
    DecryptKey k = view("acme", "arn:k", KC, edk(4));
    refusals.readRefused(k, false);
    for (int i = 0; i < 5; i++) {
      refusals.readRefused(k, true);
    }
    assertEquals(1, fromKms.get());
    assertEquals(5, fromMemory.get());
  }
}
