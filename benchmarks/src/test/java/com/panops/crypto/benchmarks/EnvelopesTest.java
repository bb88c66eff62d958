package com.panops.crypto.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every implementation under test round-trips, and refuses a tampered message. */
class EnvelopesTest {

  @ParameterizedTest
  @EnumSource(Envelope.Impl.class)
  void roundTripsAndRefusesTampering(Envelope.Impl impl) throws Exception {
    Fixtures.Kms kms = Fixtures.kms(0);
    try (Envelope e = Envelopes.create(impl, kms, null)) {
      for (int size : new int[] {0, 64, 70_000}) {
        byte[] pt = Fixtures.plaintext(size, size);
        byte[] ct = e.encrypt(pt);
        assertArrayEquals(pt, e.decrypt(ct), impl + " " + size);
        ct[ct.length - 1] ^= 1;
        assertThrows(Exception.class, () -> e.decrypt(ct), impl + " accepted a tampered message");
      }
    }
  }

  @Test
  void cachingImplementationsCallKmsOncePerDataKey() throws Exception {
    for (Envelope.Impl impl :
        new Envelope.Impl[] {Envelope.Impl.OURS, Envelope.Impl.ESDK_CACHING}) {
      Fixtures.Kms kms = Fixtures.kms(0);
      try (Envelope e = Envelopes.create(impl, kms, null)) {
        byte[] ct = null;
        for (int i = 0; i < 50; i++) {
          ct = e.encrypt(Fixtures.plaintext(100, i));
        }
        for (int i = 0; i < 50; i++) {
          e.decrypt(ct);
        }
      }
      assertEquals(1, kms.client().generateDataKeyCalls.get(), impl.toString());
      long decrypts = kms.client().decryptCalls.get();
      assertEquals(impl == Envelope.Impl.OURS ? 0 : 1, decrypts, impl.toString());
    }
  }

  @Test
  void methodNamesMapToImplementations() {
    assertEquals(Envelope.Impl.OURS, Envelope.Impl.ofMethod("x.EnvelopeBenchmark.oursEncrypt"));
    assertEquals(Envelope.Impl.OURS_STREAM, Envelope.Impl.ofMethod("oursStreamDecrypt"));
    assertEquals(Envelope.Impl.ESDK_CACHING, Envelope.Impl.ofMethod("esdkCachingDecrypt"));
    assertEquals(Envelope.Impl.TINK, Envelope.Impl.ofMethod("tinkEncrypt"));
    assertEquals(Envelope.Impl.RAW_GCM, Envelope.Impl.ofMethod("rawGcmDecrypt"));
    assertEquals(Envelope.Impl.RAW_GCM_ACCP, Envelope.Impl.ofMethod("rawGcmAccpEncrypt"));
    assertEquals(Envelope.Impl.OURS_ACCP, Envelope.Impl.ofMethod("oursAccpDecrypt"));
  }
}
