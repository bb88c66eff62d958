package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.metrics.MicrometerMetrics;
import com.panops.crypto.testkit.FakeKmsClient;
import com.panops.crypto.testkit.ForwardingKmsClient;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;

/** Ranged reads, response checks, metrics, events and mid-stream revocation, on the fake KMS. */
class EngineBehaviourTest {
  static final KeyContext KC = KeyContext.of("class", "attachment");
  static final MessageAad AAD = MessageAad.of("bucket", "b", "key", "k");

  FakeKmsClient kms;
  String arn;
  PanopsCrypto crypto;
  SimpleMeterRegistry registry;
  final List<RevocationEvent> events = new ArrayList<>();

  @BeforeEach
  void setUp() {
    kms = new FakeKmsClient();
    arn = kms.createKey("k");
    registry = new SimpleMeterRegistry();
    crypto = build(kms);
  }

  PanopsCrypto build(KmsClient client) {
    return TestCrypto.builder(client, "t", arn)
        .probeSettings(ProbeSettings.off().withSettle(1, java.time.Duration.ZERO))
        .metrics(MicrometerMetrics.of(registry))
        .addRevocationListener(events::add)
        .frameSize(4096)
        .build();
  }

  /** The fake KMS, with each Decrypt's answer replaced by {@code change}(request, real answer). */
  KmsClient changingDecrypts(BiFunction<DecryptRequest, DecryptResponse, DecryptResponse> change) {
    return new ForwardingKmsClient(kms) {
      @Override
      public DecryptResponse decrypt(DecryptRequest r) {
        return change.apply(r, kms.decrypt(r));
      }
    };
  }

  @AfterEach
  void tearDown() {
    crypto.close();
  }

  @Test
  void decryptFrames_authenticatesAnyRunOfFrames_andReturnsExactlyTheirPlaintext()
      throws Exception {
    byte[] pt = new byte[4096 * 5 + 1234];
    new Random(5).nextBytes(pt);
    TenantCrypto t = crypto.tenant("t");
    byte[] ct = t.encrypt(pt, KC, AAD);
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    long n = h.frameCount(ct.length);
    assertEquals(6, n);
    assertEquals(pt.length, h.plaintextLength(ct.length));
    for (long first = 0; first < n; first++) {
      for (long last = first; last < n; last++) {
        int from = (int) h.frameOffset(first);
        int to = last == n - 1 ? ct.length : (int) h.frameOffset(last + 1);
        try (InputStream in =
            t.decryptFrames(
                h,
                ct.length,
                first,
                last,
                new ByteArrayInputStream(ct, from, to - from),
                KC,
                AAD)) {
          byte[] got = in.readAllBytes();
          int pFrom = (int) (first * 4096);
          int pTo = (int) Math.min(pt.length, (last + 1) * 4096);
          assertArrayEquals(Arrays.copyOfRange(pt, pFrom, pTo), got, first + ".." + last);
        }
      }
    }
    // a frame presented at the wrong index fails
    int f1 = (int) h.frameOffset(1);
    int f2 = (int) h.frameOffset(2);
    try (InputStream in =
        t.decryptFrames(h, ct.length, 2, 2, new ByteArrayInputStream(ct, f1, f2 - f1), KC, AAD)) {
      assertThrows(IntegrityException.class, in::readAllBytes);
    }
    // a message cut after frame 4: frame 4 claimed final, but it was sealed as non-final
    int f4 = (int) h.frameOffset(4);
    byte[] cut = Arrays.copyOf(ct, (int) h.frameOffset(5));
    assertThrows(
        IntegrityException.class,
        () ->
            t.decryptFrames(
                    h,
                    cut.length,
                    4,
                    4,
                    new ByteArrayInputStream(cut, f4, cut.length - f4),
                    KC,
                    AAD)
                .readAllBytes());
  }

  @Test
  void aKmsAnswerForAnotherKey_isRefused_andLatches() {
    byte[] ct = crypto.tenant("t").encrypt(new byte[10], KC, AAD);
    KmsClient lying =
        changingDecrypts(
            (r, real) -> real.toBuilder().keyId(FakeKmsClient.ARN_PREFIX + "someone-else").build());
    try (PanopsCrypto reader = build(lying)) {
      KeyRevokedException e =
          assertThrows(KeyRevokedException.class, () -> reader.tenant("t").decrypt(ct, KC, AAD));
      assertEquals(RevocationReason.BAD_RESPONSE, e.reason());
    }
  }

  @Test
  void aDataKeyOfTheWrongLength_isAnIntegrityFailureOfThatMessage_andLatchesNothing() {
    byte[] ct = crypto.tenant("t").encrypt(new byte[10], KC, AAD);
    // KMS decrypts this message's blob to 16 bytes (as it would a blob made by another Encrypt
    // under the same key and context); the canary still decrypts, so the key is fine.
    KmsClient shortKey =
        changingDecrypts(
            (r, real) ->
                ForwardingKmsClient.isProbe(r)
                    ? real
                    : real.toBuilder().plaintext(SdkBytes.fromByteArray(new byte[16])).build());
    try (PanopsCrypto reader = build(shortKey)) {
      IntegrityException e =
          assertThrows(IntegrityException.class, () -> reader.tenant("t").decrypt(ct, KC, AAD));
      assertNotNull(e.getCause(), "the KMS failure is the cause");
      assertFalse(reader.isRevoked(arn));
      assertTrue(events.isEmpty(), "no revocation event: " + events);
    }
  }

  @Test
  void aStreamOpenWhenTheKeyIsRevoked_stopsAtItsNextFrame() throws Exception {
    byte[] pt = new byte[4096 * 4];
    TenantCrypto t = crypto.tenant("t");
    byte[] ct = t.encrypt(pt, KC, AAD);
    try (PanopsCrypto reader = build(kms)) {
      TenantCrypto r = reader.tenant("t");
      InputStream in = r.decryptingStream(new ByteArrayInputStream(ct), KC, AAD);
      byte[] first = in.readNBytes(4096);
      assertEquals(4096, first.length);
      kms.disable(arn);
      assertFalse(reader.probe(arn), "the probe sees the disabled key and latches");
      KeyRevokedException e = assertThrows(KeyRevokedException.class, () -> in.readNBytes(4096));
      assertEquals(RevocationReason.DISABLED, e.reason());
      kms.enable(arn);
    }
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    OutputStream out = t.encryptingStream(sink, KC, AAD);
    out.write(new byte[4096 * 2]);
    kms.disable(arn);
    assertFalse(crypto.probe(arn));
    assertThrows(KeyRevokedException.class, () -> out.write(new byte[4096]));
  }

  @Test
  void revocationAndRestoration_areReportedToListenersAndMetrics() {
    TenantCrypto t = crypto.tenant("t");
    byte[] ct = t.encrypt(new byte[3], KC, AAD);
    kms.disable(arn);
    assertFalse(crypto.probe(arn));
    assertThrows(KeyRevokedException.class, () -> t.decrypt(ct, KC, AAD));
    kms.enable(arn);
    assertTrue(crypto.probe(arn));
    assertArrayEquals(new byte[3], t.decrypt(ct, KC, AAD));
    assertEquals(2, events.size(), "with withSettle(1, 0) one successful probe lifts: " + events);
    assertEquals(RevocationEvent.Kind.REVOKED, events.get(0).kind());
    assertEquals(RevocationReason.DISABLED, events.get(0).reason());
    assertEquals(RevocationEvent.Kind.RESTORED, events.get(1).kind());
    assertEquals(
        1.0, registry.get("panops.crypto.revocations").tag("reason", "DISABLED").counter().count());
    assertEquals(1.0, registry.get("panops.crypto.restorations").counter().count());
    assertEquals(
        1,
        registry
            .get("panops.crypto.kms.calls")
            .tag("operation", "GenerateDataKey")
            .tag("outcome", "success")
            .timer()
            .count());
    assertTrue(registry.get("panops.crypto.probe").tag("outcome", "failure").timer().count() >= 1);
    assertEquals(
        1.0,
        registry
            .get("panops.crypto.cache")
            .tag("side", "encrypt")
            .tag("result", "miss")
            .counter()
            .count());
    // the revocation purged the cache: the first decrypt after it missed, the next one hits
    t.decrypt(ct, KC, AAD);
    assertEquals(
        1.0,
        registry
            .get("panops.crypto.cache")
            .tag("side", "decrypt")
            .tag("result", "miss")
            .counter()
            .count());
    assertEquals(
        1.0,
        registry
            .get("panops.crypto.cache")
            .tag("side", "decrypt")
            .tag("result", "hit")
            .counter()
            .count());
  }
}
