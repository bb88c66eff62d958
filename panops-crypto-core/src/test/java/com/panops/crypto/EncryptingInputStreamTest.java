package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.format.EncryptingInputStream;
import com.panops.crypto.format.EncryptingInputStream.SourceLength;
import com.panops.crypto.testkit.FakeKmsClient;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The one pull-side encrypting stream both adapters use: lengths, source reading, clean-up. */
class EncryptingInputStreamTest {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("table", "t", "row", "1");

  PanopsCrypto crypto;
  TenantCrypto acme;

  @BeforeEach
  void setUp() {
    FakeKmsClient kms = new FakeKmsClient();
    crypto =
        PanopsCrypto.builder()
            .kmsClient(kms)
            .allowInsecureLocalKmsEndpoint()
            .tenantDirectory(TenantDirectory.of(Map.of("acme", TenantKeys.of(kms.createKey("a")))))
            .probeSettings(ProbeSettings.off())
            .frameSize(4096)
            .build();
    acme = crypto.tenant("acme");
  }

  @AfterEach
  void tearDown() {
    crypto.close();
  }

  EncryptingInputStream over(InputStream source, long declared, SourceLength mode) {
    return new EncryptingInputStream(
        sink -> acme.encryptingStream(sink, KC, AAD), source, declared, mode, "test body");
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 4095, 4096, 4097, 3 * 4096, 100_000})
  void yieldsExactlyTheComputedLength_andDecryptsToThePlaintext(int size) throws IOException {
    byte[] pt = TenantCryptoTest.random(size, size);
    for (SourceLength mode : SourceLength.values()) {
      try (EncryptingInputStream in = over(new ByteArrayInputStream(pt), size, mode)) {
        long expected = in.header().geometry().ciphertextLength(size);
        assertEquals(expected, in.ciphertextLength());
        byte[] ct = in.readAllBytes();
        assertEquals(expected, ct.length, mode.name());
        assertArrayEquals(pt, acme.decrypt(ct, KC, AAD), mode.name());
        assertEquals(size, in.plaintextRead());
      }
    }
  }

  @Test
  void exactNeverReadsPastTheDeclaredLength() throws IOException {
    ByteArrayInputStream source = new ByteArrayInputStream(new byte[10_000]);
    try (EncryptingInputStream in = over(source, 6_000, SourceLength.EXACT)) {
      in.readAllBytes();
    }
    assertEquals(4_000, source.available(), "bytes past the declared length stay unread");
  }

  @Test
  void toEndRefusesASourceLongerOrShorterThanDeclared() {
    IOException longer =
        assertThrows(
            IOException.class,
            () ->
                over(new ByteArrayInputStream(new byte[5000]), 4000, SourceLength.TO_END)
                    .readAllBytes());
    assertTrue(longer.getMessage().contains("longer than its declared 4000"), longer.getMessage());
    IOException shorter =
        assertThrows(
            IOException.class,
            () ->
                over(new ByteArrayInputStream(new byte[3000]), 4000, SourceLength.TO_END)
                    .readAllBytes());
    assertTrue(shorter.getMessage().contains("after 3000 of 4000"), shorter.getMessage());
    assertThrows(
        IOException.class,
        () ->
            over(new ByteArrayInputStream(new byte[3000]), 4000, SourceLength.EXACT)
                .readAllBytes());
  }

  @Test
  void anUnknownLengthIsReadToTheEnd() throws IOException {
    byte[] pt = TenantCryptoTest.random(9000, 1);
    try (EncryptingInputStream in = over(new ByteArrayInputStream(pt), -1, SourceLength.TO_END)) {
      assertArrayEquals(pt, acme.decrypt(in.readAllBytes(), KC, AAD));
      assertThrows(IllegalStateException.class, in::ciphertextLength);
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> over(new ByteArrayInputStream(pt), -1, SourceLength.EXACT));
  }

  @Test
  void closeClosesTheSourceAndLaterReadsFail() throws IOException {
    AtomicBoolean closed = new AtomicBoolean();
    InputStream source =
        new ByteArrayInputStream(new byte[100]) {
          @Override
          public void close() {
            closed.set(true);
          }
        };
    EncryptingInputStream in = over(source, 100, SourceLength.EXACT);
    in.header();
    in.close();
    assertTrue(closed.get());
    assertThrows(IOException.class, () -> in.read(new byte[1], 0, 1));
  }
}
