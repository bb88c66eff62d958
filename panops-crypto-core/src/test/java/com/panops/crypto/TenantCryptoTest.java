package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.FakeKmsClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Unit tests of the engine against an in-process fake KMS (LocalKms over HTTP is in the ITs). */
class TenantCryptoTest {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("table", "messages", "row", "42");

  FakeKmsClient kms;
  String acmeKey;
  String globexKey;
  PanopsCrypto crypto;
  List<AuditEvent> audit;

  @BeforeEach
  void setUp() {
    kms = new FakeKmsClient();
    acmeKey = kms.createKey("acme-1");
    globexKey = kms.createKey("globex-1");
    audit = java.util.Collections.synchronizedList(new ArrayList<>());
    crypto =
        TestCrypto.unprobed(
                kms, Map.of("acme", TenantKeys.of(acmeKey), "globex", TenantKeys.of(globexKey)))
            .frameSize(4096)
            .auditSink(audit::add)
            .build();
  }

  @AfterEach
  void tearDown() {
    crypto.close();
  }

  static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 15, 16, 4095, 4096, 4097, 8192, 8193, 100_000, 1 << 20})
  void byteArrayRoundTrip_returnsThePlaintext(int size) {
    TenantCrypto acme = crypto.tenant("acme");
    byte[] pt = random(size, size);
    byte[] ct = acme.encrypt(pt, KC, AAD);
    assertArrayEquals(pt, acme.decrypt(ct, KC, AAD));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 4095, 4096, 4097, 3 * 4096, 3 * 4096 + 7, 1 << 20})
  void streamRoundTrip_returnsThePlaintext_andMatchesTheByteArrayFormat(int size)
      throws IOException {
    TenantCrypto acme = crypto.tenant("acme");
    byte[] pt = random(size, size);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try (OutputStream enc = acme.encryptingStream(sink, KC, AAD)) {
      // uneven writes
      int p = 0;
      Random r = new Random(1);
      while (p < pt.length) {
        int n = Math.min(pt.length - p, 1 + r.nextInt(9000));
        enc.write(pt, p, n);
        p += n;
      }
    }
    byte[] ct = sink.toByteArray();
    assertArrayEquals(pt, acme.decrypt(ct, KC, AAD), "a stream's message decrypts as byte[]");
    try (InputStream dec = acme.decryptingStream(new ByteArrayInputStream(ct), KC, AAD)) {
      assertArrayEquals(pt, dec.readAllBytes());
    }
    byte[] ct2 = acme.encrypt(pt, KC, AAD);
    try (InputStream dec = acme.decryptingStream(new ByteArrayInputStream(ct2), KC, AAD)) {
      assertArrayEquals(pt, dec.readAllBytes(), "a byte[] message decrypts as a stream");
    }
    assertEquals(ct.length, ct2.length);
  }

  @Test
  void decrypt_withOtherMessageAad_failsIntegrity() {
    TenantCrypto acme = crypto.tenant("acme");
    byte[] ct = acme.encrypt(random(100, 1), KC, AAD);
    assertThrows(
        IntegrityException.class,
        () -> acme.decrypt(ct, KC, MessageAad.of("table", "messages", "row", "43")));
    assertThrows(IntegrityException.class, () -> acme.decrypt(ct, KC, MessageAad.empty()));
  }

  @Test
  void decrypt_withOtherKeyContext_failsIntegrity_withoutCallingKms() {
    TenantCrypto acme = crypto.tenant("acme");
    byte[] ct = acme.encrypt(random(100, 1), KC, AAD);
    long before = kms.decryptCalls.get();
    assertThrows(
        IntegrityException.class, () -> acme.decrypt(ct, KeyContext.of("class", "chat"), AAD));
    assertEquals(before, kms.decryptCalls.get());
  }

  @Test
  void decrypt_ofAnotherTenantsMessage_failsIntegrity_withoutCallingKms() {
    byte[] ct = crypto.tenant("acme").encrypt(random(100, 1), KC, AAD);
    long before = kms.totalCalls();
    assertThrows(IntegrityException.class, () -> crypto.tenant("globex").decrypt(ct, KC, AAD));
    assertEquals(before, kms.totalCalls());
  }

  @Test
  void decrypt_byAnotherTenantSharingTheCmk_failsIntegrity_withoutCallingKms_orLatching() {
    try (PanopsCrypto shared =
        TestCrypto.unprobed(
                kms, Map.of("acme", TenantKeys.of(acmeKey), "acme-eu", TenantKeys.of(acmeKey)))
            .build()) {
      byte[] ct = shared.tenant("acme").encrypt(random(100, 1), KC, AAD);
      long before = kms.totalCalls();
      assertThrows(IntegrityException.class, () -> shared.tenant("acme-eu").decrypt(ct, KC, AAD));
      assertEquals(before, kms.totalCalls());
      assertFalse(shared.isRevoked(acmeKey));
      assertEquals("acme", MessageHeader.parse(ct, 0, ct.length).tenant());
    }
  }

  @Test
  void encrypt_isServedFromCache_oneGenerateDataKeyForManyMessages() {
    TenantCrypto acme = crypto.tenant("acme");
    for (int i = 0; i < 1000; i++) {
      byte[] ct = acme.encrypt(random(64, i), KC, MessageAad.of("row", "" + i));
      acme.decrypt(ct, KC, MessageAad.of("row", "" + i));
    }
    assertEquals(1, kms.generateDataKeyCalls.get());
    assertEquals(0, kms.decryptCalls.get(), "the encrypt side's key is not re-decrypted");
  }

  @Test
  void decrypt_coldCache_callsKmsOnce_perDataKey() {
    TenantCrypto acme = crypto.tenant("acme");
    List<byte[]> cts = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      cts.add(acme.encrypt(random(64, i), KC, AAD));
    }
    try (PanopsCrypto reader = TestCrypto.unprobed(kms, "acme", acmeKey).build()) {
      for (byte[] ct : cts) {
        reader.tenant("acme").decrypt(ct, KC, AAD);
      }
    }
    assertEquals(1, kms.decryptCalls.get());
  }

  @Test
  void kmsContext_carriesTheKeyContextAndTheTenant_neverTheMessageAad() {
    crypto.tenant("acme").encrypt(new byte[10], KC, AAD);
    AuditEvent e = audit.get(0);
    assertEquals("GenerateDataKey", e.operation());
    assertEquals(Map.of("class", "mail", "panops:tenant", "acme"), e.encryptionContext());
    assertTrue(e.success());
    assertEquals(acmeKey, e.keyArn());
  }

  @Test
  void decryptOnlyKeys_stillDecrypt_afterRotation() {
    byte[] ct = crypto.tenant("acme").encrypt(random(100, 3), KC, AAD);
    String newKey = kms.createKey("acme-2");
    try (PanopsCrypto rotated =
        TestCrypto.unprobed(kms, Map.of("acme", TenantKeys.of(newKey, List.of(acmeKey)))).build()) {
      TenantCrypto acme = rotated.tenant("acme");
      assertArrayEquals(random(100, 3), acme.decrypt(ct, KC, AAD));
      byte[] fresh = acme.encrypt(random(10, 4), KC, AAD);
      assertEquals(newKey, MessageHeader.parse(fresh, 0, fresh.length).keyArn());
    }
  }

  @Test
  void rewrapHeader_movesTheDataKeyToTheCurrentCmk_andTheBodyStillVerifies() {
    byte[] pt = random(20_000, 9);
    byte[] ct = crypto.tenant("acme").encrypt(pt, KC, AAD);
    String newKey = kms.createKey("acme-2");
    try (PanopsCrypto rotated =
        TestCrypto.unprobed(kms, Map.of("acme", TenantKeys.of(newKey, List.of(acmeKey)))).build()) {
      TenantCrypto acme = rotated.tenant("acme");
      var h = MessageHeader.parse(ct, 0, ct.length);
      byte[] newHeader = acme.rewrapHeader(h, KC);
      byte[] moved = new byte[newHeader.length + ct.length - h.length()];
      System.arraycopy(newHeader, 0, moved, 0, newHeader.length);
      System.arraycopy(ct, h.length(), moved, newHeader.length, ct.length - h.length());
      assertEquals(newKey, MessageHeader.parse(moved, 0, moved.length).keyArn());
      kms.disable(acmeKey); // the old key is gone: the moved message must not need it
      assertArrayEquals(pt, acme.decrypt(moved, KC, AAD));
      assertEquals(1, kms.reEncryptCalls.get());
    }
  }

  @Test
  void swappedEncryptedDataKey_fromAnotherMessage_failsTheCommitment() {
    TenantCrypto acme = crypto.tenant("acme");
    byte[] a = acme.encrypt(random(100, 1), KC, AAD);
    try (PanopsCrypto other = TestCrypto.unprobed(kms, "acme", acmeKey).build()) {
      byte[] b = other.tenant("acme").encrypt(random(100, 2), KC, AAD);
      var ha = MessageHeader.parse(a, 0, a.length);
      var hb = MessageHeader.parse(b, 0, b.length);
      assertFalse(java.util.Arrays.equals(ha.encryptedDataKey(), hb.encryptedDataKey()));
      // a's header with b's key reference (a valid KMS ciphertext of another data key)
      byte[] forgedHeader = ha.withKeyReference(acmeKey.getBytes(), hb.encryptedDataKey());
      byte[] forged = new byte[forgedHeader.length + a.length - ha.length()];
      System.arraycopy(forgedHeader, 0, forged, 0, forgedHeader.length);
      System.arraycopy(a, ha.length(), forged, forgedHeader.length, a.length - ha.length());
      assertThrows(IntegrityException.class, () -> acme.decrypt(forged, KC, AAD));
    }
  }

  @Test
  void callerMistakes_areIllegalArgument() {
    assertThrows(IllegalArgumentException.class, () -> crypto.tenant(""));
    assertThrows(IllegalArgumentException.class, () -> crypto.tenant("nobody"));
    assertThrows(IllegalArgumentException.class, () -> KeyContext.of("aws:x", "y"));
    assertThrows(IllegalArgumentException.class, () -> KeyContext.of("panops:tenant", "y"));
    assertThrows(IllegalArgumentException.class, () -> KeyContext.of("k"));
    assertThrows(IllegalArgumentException.class, () -> KeyContext.of("k", ""));
    assertThrows(IllegalArgumentException.class, () -> KeyContext.of("k", "x".repeat(257)));
    assertThrows(NullPointerException.class, () -> crypto.tenant("acme").encrypt(null, KC, AAD));
    assertThrows(IllegalArgumentException.class, () -> TenantKeys.of("alias/acme"));
  }

  @Test
  void builder_refusesMissingAndConflictingSettings() {
    assertThrows(IllegalStateException.class, () -> PanopsCrypto.builder().build());
    assertThrows(
        IllegalStateException.class,
        () -> PanopsCrypto.builder().kmsClient(kms).kmsClientFactory(a -> kms));
    assertThrows(
        IllegalStateException.class,
        () -> PanopsCrypto.builder().kmsClient(kms).build(),
        "a tenant directory is required");
    assertThrows(IllegalArgumentException.class, () -> PanopsCrypto.builder().frameSize(100));
  }

  @Test
  void toStrings_neverShowKeyBytes() {
    var fk = com.panops.crypto.format.FrameKey.of(new byte[32], 1);
    assertEquals("FrameKey[redacted]", fk.toString());
    assertFalse(MessageAad.of("row", "secret-row-id").toString().contains("secret-row-id"));
  }
}
