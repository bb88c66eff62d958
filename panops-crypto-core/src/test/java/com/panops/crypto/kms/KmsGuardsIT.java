package com.panops.crypto.kms;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.KeyContext;
import com.panops.crypto.LocalKmsSupport;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.testkit.LocalKms;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/** The KMS guards, through the real SDK client and LocalKms. */
class KmsGuardsIT {
  static LocalKms kms;
  static String arn;

  @BeforeAll
  static void start() {
    kms = LocalKms.start();
    arn = kms.createKey("guards");
  }

  @AfterAll
  static void stop() {
    kms.close();
  }

  @Test
  void allowListInterceptor_refusesEveryOtherOperation_beforeAnythingIsSent() {
    try (KmsClient guarded = LocalKmsSupport.client(kms, kms.admin(), KmsAllowList.interceptor())) {
      int before = kms.trail().size();
      assertThrows(SdkClientException.class, () -> guarded.disableKey(r -> r.keyId(arn)));
      assertThrows(
          SdkClientException.class,
          () -> guarded.scheduleKeyDeletion(r -> r.keyId(arn).pendingWindowInDays(7)));
      assertThrows(
          SdkClientException.class,
          () -> guarded.putKeyPolicy(r -> r.keyId(arn).policyName("default").policy("{}")));
      assertThrows(
          SdkClientException.class,
          () -> guarded.createGrant(r -> r.keyId(arn).granteePrincipal(kms.admin().arn())));
      assertThrows(SdkClientException.class, () -> guarded.createKey(r -> {}));
      assertThrows(SdkClientException.class, () -> guarded.listKeys());
      assertEquals(before, kms.trail().size(), "nothing refused reached KMS");
      // the five permitted operations pass
      assertEquals(arn, guarded.describeKey(r -> r.keyId(arn)).keyMetadata().arn());
      byte[] ct =
          guarded
              .encrypt(r -> r.keyId(arn).plaintext(SdkBytes.fromUtf8String("x")))
              .ciphertextBlob()
              .asByteArray();
      assertEquals(
          "x",
          guarded
              .decrypt(r -> r.keyId(arn).ciphertextBlob(SdkBytes.fromByteArray(ct)))
              .plaintext()
              .asUtf8String());
    }
  }

  @Test
  void theLibrary_sendsOnlyPermittedOperations() throws Exception {
    try (KmsClient client = LocalKmsSupport.client(kms, kms.vendor());
        PanopsCrypto crypto = TestCrypto.builder(client, "t", arn).build()) {
      kms.clearTrail();
      byte[] ct = crypto.tenant("t").encrypt(new byte[10], KeyContext.empty(), MessageAad.empty());
      crypto.tenant("t").decrypt(ct, KeyContext.empty(), MessageAad.empty());
      assertTrue(crypto.probe(arn));
      assertTrue(
          kms.trail().stream()
              .allMatch(
                  e ->
                      java.util.Set.of(
                              "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "DescribeKey")
                          .contains(e.eventName())),
          kms.trail().toString());
      assertTrue(kms.trail().stream().anyMatch(e -> e.eventName().equals("GenerateDataKey")));
    }
  }

  @Test
  void plainHttpEndpoint_isRefused_unlessDeclaredLocal_andThenOnlyOnLoopback() {
    try (KmsClient client = LocalKmsSupport.client(kms, kms.vendor());
        KmsClient remote =
            KmsClient.builder()
                .endpointOverride(java.net.URI.create("http://kms.example.com"))
                .region(Region.US_EAST_1)
                .credentialsProvider(kms.vendor().credentialsProvider())
                .build()) {
      var dir = TenantDirectory.of(Map.of("t", TenantKeys.of(arn)));
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> PanopsCrypto.builder().kmsClient(client).tenantDirectory(dir).build());
      assertTrue(e.getMessage().contains("not HTTPS"));
      assertThrows(
          IllegalArgumentException.class,
          () ->
              PanopsCrypto.builder()
                  .kmsClient(remote)
                  .allowInsecureLocalKmsEndpoint()
                  .tenantDirectory(dir)
                  .build(),
          "a non-loopback plain endpoint is refused even with the opt-in");
      PanopsCrypto.builder()
          .kmsClient(client)
          .allowInsecureLocalKmsEndpoint()
          .tenantDirectory(dir)
          .probeSettings(ProbeSettings.off())
          .build()
          .close();
    }
  }

  @Test
  void fiftyMebibytes_roundTripThroughStreams_withLocalKms() throws Exception {
    try (KmsClient client = LocalKmsSupport.client(kms, kms.vendor());
        PanopsCrypto crypto = TestCrypto.builder(client, "t", arn).build()) {
      var t = crypto.tenant("t");
      KeyContext kc = KeyContext.of("class", "attachment");
      MessageAad aad = MessageAad.of("object", "big.bin");
      long size = 50L * 1024 * 1024 + 123;
      java.nio.file.Path file = java.nio.file.Files.createTempFile("panops", ".enc");
      try {
        MessageDigest in = MessageDigest.getInstance("SHA-256");
        try (OutputStream enc =
            t.encryptingStream(java.nio.file.Files.newOutputStream(file), kc, aad)) {
          Random r = new Random(7);
          byte[] chunk = new byte[100_000];
          long left = size;
          while (left > 0) {
            int n = (int) Math.min(chunk.length, left);
            r.nextBytes(chunk);
            in.update(chunk, 0, n);
            enc.write(chunk, 0, n);
            left -= n;
          }
        }
        MessageDigest out = MessageDigest.getInstance("SHA-256");
        long total = 0;
        try (InputStream dec =
            new DigestInputStream(
                t.decryptingStream(java.nio.file.Files.newInputStream(file), kc, aad), out)) {
          byte[] buf = new byte[65_536];
          int n;
          while ((n = dec.read(buf)) >= 0) {
            total += n;
          }
        }
        assertEquals(size, total);
        assertArrayEquals(in.digest(), out.digest());
      } finally {
        java.nio.file.Files.deleteIfExists(file);
      }
    }
  }
}
