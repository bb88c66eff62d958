package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import com.panops.crypto.format.FormatTestAccess;
import com.panops.crypto.testkit.LocalKms;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.AlgorithmParameters;
import java.security.InvalidKeyException;
import java.security.Key;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.spec.AlgorithmParameterSpec;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.crypto.CipherSpi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * {@link PanopsCrypto.Builder#cipherProvider}: the Amazon Corretto Crypto Provider (ACCP) passed
 * explicitly, installed first, or present on the class path but not installed, over LocalKms with
 * the real SDK client. Each scenario runs on a fresh thread, so that the per-thread ciphers it
 * inspects are the ones its operations made.
 */
class CipherProviderTest {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "7");
  static final Provider ACCP = AmazonCorrettoCryptoProvider.INSTANCE;

  static LocalKms kms;
  static KmsClient client;
  static String arn;
  static final MemoryRegistry REGISTRY = new MemoryRegistry();

  @BeforeAll
  static void setUp() {
    Throwable loading = AmazonCorrettoCryptoProvider.INSTANCE.getLoadingError();
    if (loading != null) {
      fail("ACCP's native library did not load on this machine: " + loading, loading);
    }
    AmazonCorrettoCryptoProvider.INSTANCE.assertHealthy();
    kms = LocalKms.start();
    arn = kms.createKey("accp");
    client = LocalKmsSupport.client(kms, kms.vendor());
  }

  @AfterAll
  static void tearDown() {
    client.close();
    kms.close();
  }

  static PanopsCrypto crypto(Provider provider) {
    return TestCrypto.unprobed(client, "acme", arn)
        .dataKeyRegistry(REGISTRY)
        .frameSize(4096)
        .cipherProvider(provider)
        .build();
  }

  /** 10,000 bytes: three frames of 4 KiB. */
  static byte[] plaintext(long seed) {
    byte[] b = new byte[10_000];
    new SplittableRandom(seed).nextBytes(b);
    return b;
  }

  static <T> T onFreshThread(Callable<T> task) throws Exception {
    ExecutorService ex = Executors.newSingleThreadExecutor();
    try {
      return ex.submit(task).get(60, TimeUnit.SECONDS);
    } finally {
      ex.shutdownNow();
    }
  }

  static byte[] streamEncrypt(TenantCrypto t, byte[] pt) throws Exception {
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    try (OutputStream out = t.encryptingStream(sink, KC, AAD)) {
      out.write(pt);
    }
    return sink.toByteArray();
  }

  static byte[] streamDecrypt(TenantCrypto t, byte[] ct) throws Exception {
    try (InputStream in = t.decryptingStream(new ByteArrayInputStream(ct), KC, AAD)) {
      return in.readAllBytes();
    }
  }

  @Test
  void aCryptoGivenAccp_sealsAndOpensEveryFormatWithAccpsCipherAndNeverTheJcasChoice()
      throws Exception {
    byte[] pt = plaintext(1);
    try (PanopsCrypto crypto = crypto(ACCP)) {
      TenantCrypto t = crypto.tenant("acme");
      onFreshThread(
          () -> {
            assertNull(FormatTestAccess.providerUsed(ACCP), "a fresh thread has no ACCP cipher");
            assertArrayEquals(pt, t.decrypt(t.encrypt(pt, KC, AAD), KC, AAD));
            assertArrayEquals(pt, streamDecrypt(t, streamEncrypt(t, pt)));
            assertArrayEquals(pt, t.decrypt(t.encryptCompact(pt, KC, AAD), KC, AAD));
            assertSame(ACCP, FormatTestAccess.providerUsed(ACCP), "ACCP's cipher sealed them");
            assertNull(FormatTestAccess.providerUsed(null), "the JCA's choice was never used");
            return null;
          });
      assertTrue(crypto.toString().contains("cipherProvider=" + ACCP.getName()), crypto::toString);
    }
  }

  @Test
  void ciphertextsWrittenWithSunJceOpenWithAccp_andTheOtherWayRound() throws Exception {
    assertNull(Security.getProvider(ACCP.getName()), "ACCP is not installed in this test");
    byte[] pt = plaintext(2);
    try (PanopsCrypto sun = crypto(Security.getProvider("SunJCE"));
        PanopsCrypto accp = crypto(ACCP)) {
      TenantCrypto s = sun.tenant("acme");
      TenantCrypto a = accp.tenant("acme");
      onFreshThread(
          () -> {
            assertArrayEquals(pt, a.decrypt(s.encrypt(pt, KC, AAD), KC, AAD));
            assertArrayEquals(pt, s.decrypt(a.encrypt(pt, KC, AAD), KC, AAD));
            assertArrayEquals(pt, streamDecrypt(a, streamEncrypt(s, pt)));
            assertArrayEquals(pt, streamDecrypt(s, streamEncrypt(a, pt)));
            assertArrayEquals(pt, a.decrypt(s.encryptCompact(pt, KC, AAD), KC, AAD));
            assertArrayEquals(pt, s.decrypt(a.encryptCompact(pt, KC, AAD), KC, AAD));
            assertSame(ACCP, FormatTestAccess.providerUsed(ACCP));
            Provider sunJce = Security.getProvider("SunJCE");
            assertSame(sunJce, FormatTestAccess.providerUsed(sunJce));
            return null;
          });
    }
  }

  @Test
  void withAccpOnTheClassPathButNotInstalled_theDefaultIsTheJcasChoice() throws Exception {
    assertNull(Security.getProvider(ACCP.getName()), "ACCP is not installed in this test");
    byte[] pt = plaintext(3);
    try (PanopsCrypto crypto = crypto(null)) {
      TenantCrypto t = crypto.tenant("acme");
      String used =
          onFreshThread(
              () -> {
                assertArrayEquals(pt, t.decrypt(t.encrypt(pt, KC, AAD), KC, AAD));
                assertArrayEquals(pt, t.decrypt(t.encryptCompact(pt, KC, AAD), KC, AAD));
                return FormatTestAccess.providerUsed(null).getName();
              });
      assertEquals("SunJCE", used);
    }
  }

  @Test
  void withAccpInstalledFirst_theDefaultPicksItUpWithoutTheSetting() throws Exception {
    byte[] pt = plaintext(4);
    byte[] sealedBySunJce;
    try (PanopsCrypto sun = crypto(Security.getProvider("SunJCE"))) {
      sealedBySunJce = sun.tenant("acme").encrypt(pt, KC, AAD);
    }
    AmazonCorrettoCryptoProvider.install();
    try (PanopsCrypto crypto = crypto(null)) {
      assertEquals(ACCP.getName(), Security.getProviders()[0].getName());
      TenantCrypto t = crypto.tenant("acme");
      String used =
          onFreshThread(
              () -> {
                assertArrayEquals(pt, t.decrypt(t.encrypt(pt, KC, AAD), KC, AAD));
                assertArrayEquals(pt, streamDecrypt(t, streamEncrypt(t, pt)));
                assertArrayEquals(pt, t.decrypt(sealedBySunJce, KC, AAD));
                return FormatTestAccess.providerUsed(null).getName();
              });
      assertEquals(ACCP.getName(), used);
    } finally {
      Security.removeProvider(ACCP.getName());
    }
    assertNull(Security.getProvider(ACCP.getName()));
  }

  @Test
  void aProviderWithoutAesGcm_isRefusedByTheBuilderNamingIt() {
    Provider none = new Provider("NoGcmHere", "1.0", "offers no cipher") {};
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TestCrypto.unprobed(client, "acme", arn).cipherProvider(none));
    assertTrue(e.getMessage().contains("NoGcmHere"), e::getMessage);
    assertTrue(e.getMessage().contains("AES/GCM/NoPadding"), e::getMessage);
  }

  /** Offers {@code AES/GCM/NoPadding} but refuses every key. */
  static final class RefusesKeys extends Provider {
    RefusesKeys() {
      super("RefusesKeys", "1.0", "an AES-GCM that refuses every key");
      putService(
          new Service(this, "Cipher", "AES/GCM/NoPadding", "none", null, null) {
            @Override
            public Object newInstance(Object param) {
              return new CipherSpi() {
                @Override
                protected void engineSetMode(String mode) {}

                @Override
                protected void engineSetPadding(String padding) {}

                @Override
                protected int engineGetBlockSize() {
                  return 16;
                }

                @Override
                protected int engineGetOutputSize(int len) {
                  return len + 16;
                }

                @Override
                protected byte[] engineGetIV() {
                  return null;
                }

                @Override
                protected AlgorithmParameters engineGetParameters() {
                  return null;
                }

                @Override
                protected void engineInit(int mode, Key key, SecureRandom r)
                    throws InvalidKeyException {
                  throw new InvalidKeyException("no key suits");
                }

                @Override
                protected void engineInit(
                    int mode, Key key, AlgorithmParameterSpec p, SecureRandom r)
                    throws InvalidKeyException {
                  throw new InvalidKeyException("no key suits");
                }

                @Override
                protected void engineInit(int mode, Key key, AlgorithmParameters p, SecureRandom r)
                    throws InvalidKeyException {
                  throw new InvalidKeyException("no key suits");
                }

                @Override
                protected byte[] engineUpdate(byte[] in, int off, int len) {
                  throw new IllegalStateException();
                }

                @Override
                protected int engineUpdate(byte[] in, int off, int len, byte[] out, int o) {
                  throw new IllegalStateException();
                }

                @Override
                protected byte[] engineDoFinal(byte[] in, int off, int len) {
                  throw new IllegalStateException();
                }

                @Override
                protected int engineDoFinal(byte[] in, int off, int len, byte[] out, int o) {
                  throw new IllegalStateException();
                }
              };
            }
          });
    }
  }

  @Test
  void aProviderWhoseAesGcmCannotSealWithA256BitKey_isRefusedByTheBuilderNamingIt() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TestCrypto.unprobed(client, "acme", arn).cipherProvider(new RefusesKeys()));
    assertTrue(e.getMessage().contains("RefusesKeys"), e::getMessage);
    assertTrue(e.getMessage().contains("cannot seal and open"), e::getMessage);
  }

  @Test
  void aNullProvider_isTheJcasChoiceAsWithoutTheSetting() throws Exception {
    byte[] pt = plaintext(5);
    try (PanopsCrypto withNull = crypto(null);
        PanopsCrypto without = TestCrypto.unprobed(client, "acme", arn).build()) {
      byte[] ct = withNull.tenant("acme").encrypt(pt, KC, AAD);
      assertArrayEquals(pt, without.tenant("acme").decrypt(ct, KC, AAD));
      assertTrue(!withNull.toString().contains("cipherProvider"), withNull::toString);
    }
  }
}
