package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.FakeKmsClient;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Attacks every region of sample messages: every single-bit flip and every truncation must fail
 * closed, with no plaintext from any frame that did not verify.
 *
 * <p>Every flip and every truncation, on both APIs, is an {@link IntegrityException} and nothing
 * else. A flip in the key reference's encrypted data key reaches KMS, which refuses the blob; the
 * probe that decides such a per-ciphertext failure finds the key alive, so the caller gets {@link
 * IntegrityException} (with KMS's error as its cause) and the CMK is never latched.
 */
class TamperTest {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  FakeKmsClient kms;
  String arn;
  PanopsCrypto crypto;
  TenantCrypto tenant;

  @BeforeEach
  void setUp() {
    kms = new FakeKmsClient();
    arn = kms.createKey("k");
    crypto = TestCrypto.unprobed(kms, "t", arn).frameSize(4096).build();
    tenant = crypto.tenant("t");
  }

  @AfterEach
  void tearDown() {
    crypto.close();
  }

  private byte[] sample(int size) {
    byte[] pt = new byte[size];
    new Random(size).nextBytes(pt);
    return pt;
  }

  /** Offsets [start, end) of the encrypted data key and its length field. */
  private static int[] keyReferenceRegion(byte[] msg) {
    MessageHeader h = MessageHeader.parse(msg, 0, msg.length);
    return new int[] {h.edkOffset() - 2, h.edkOffset() + h.edkLength()};
  }

  private void assertFailsClosed(byte[] bad, String what) {
    RuntimeException e =
        assertThrows(RuntimeException.class, () -> tenant.decrypt(bad, KC, AAD), what);
    assertInstanceOf(IntegrityException.class, e, what);
    assertFalse(crypto.isRevoked(arn), what + ": one bad message latched the CMK");
  }

  @Test
  void everySingleBitFlip_failsClosed_byteArray() {
    for (int size : new int[] {0, 33, 4096 * 2 + 100}) {
      byte[] ct = tenant.encrypt(sample(size), KC, AAD);
      for (int i = 0; i < ct.length; i++) {
        for (int bit = 0; bit < 8; bit++) {
          byte[] bad = ct.clone();
          bad[i] ^= (byte) (1 << bit);
          assertFailsClosed(bad, "size " + size + " flip " + i + "." + bit);
        }
      }
      assertArrayEquals(sample(size), tenant.decrypt(ct, KC, AAD), "the original still decrypts");
    }
  }

  @Test
  void everyTruncation_andAnyAppendedByte_failIntegrity() {
    for (int size : new int[] {0, 33, 4096, 4096 * 2 + 100}) {
      byte[] ct = tenant.encrypt(sample(size), KC, AAD);
      for (int len = 0; len < ct.length; len++) {
        byte[] cut = java.util.Arrays.copyOf(ct, len);
        assertThrows(IntegrityException.class, () -> tenant.decrypt(cut, KC, AAD), "len " + len);
      }
      for (int extra = 1; extra <= 17; extra++) {
        byte[] longer = java.util.Arrays.copyOf(ct, ct.length + extra);
        assertThrows(IntegrityException.class, () -> tenant.decrypt(longer, KC, AAD));
      }
    }
  }

  /** Plaintext a stream released before failing; the exception thrown, or null. */
  private record StreamResult(byte[] released, RuntimeException error) {}

  private StreamResult readStream(byte[] ct) {
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    try (InputStream in = tenant.decryptingStream(new ByteArrayInputStream(ct), KC, AAD)) {
      byte[] buf = new byte[1000];
      int n;
      while ((n = in.read(buf)) >= 0) {
        got.write(buf, 0, n);
      }
      return new StreamResult(got.toByteArray(), null);
    } catch (RuntimeException e) {
      return new StreamResult(got.toByteArray(), e);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void everySingleBitFlip_failsClosed_stream_releasingOnlyFramesBeforeTheTamperedOne() {
    byte[] pt = sample(4096 + 100);
    byte[] ct = tenant.encrypt(pt, KC, AAD);
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    int[] keyRef = keyReferenceRegion(ct);
    int unit = 4096 + 16;
    int kmsRefusals = 0;
    for (int i = 0; i < ct.length; i++) {
      for (int bit = 0; bit < 8; bit++) {
        byte[] bad = ct.clone();
        bad[i] ^= (byte) (1 << bit);
        String what = "flip at " + i + "." + bit;
        StreamResult r = readStream(bad);
        assertInstanceOf(IntegrityException.class, r.error(), what);
        int verifiedFrames = i < h.length() ? 0 : (i - h.length()) / unit;
        int allowed = Math.min(pt.length, verifiedFrames * 4096);
        assertTrue(r.released().length <= allowed, what + " released too much");
        assertArrayEquals(
            java.util.Arrays.copyOf(pt, r.released().length),
            r.released(),
            "what was released is authentic plaintext");
        assertFalse(crypto.isRevoked(arn), what + ": one bad message latched the CMK");
        if (i >= keyRef[0] + 2 && i < keyRef[1] && r.error().getCause() != null) {
          kmsRefusals++;
        }
      }
    }
    assertTrue(kmsRefusals > 0, "some flips reached KMS and were refused there");
  }

  @Test
  void everyTruncation_stream_failsIntegrity() {
    byte[] pt = sample(4096 * 2 + 100);
    byte[] ct = tenant.encrypt(pt, KC, AAD);
    for (int len = 0; len < ct.length; len += 7) {
      StreamResult r = readStream(java.util.Arrays.copyOf(ct, len));
      assertInstanceOf(IntegrityException.class, r.error(), "len " + len);
      assertArrayEquals(java.util.Arrays.copyOf(pt, r.released().length), r.released());
    }
    // exactly at frame boundaries: the final flag catches it
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    for (int frames = 0; frames <= 2; frames++) {
      int len = h.length() + frames * (4096 + 16);
      StreamResult r = readStream(java.util.Arrays.copyOf(ct, len));
      assertInstanceOf(IntegrityException.class, r.error(), frames + " frames");
    }
  }

  @Test
  void framesReorderedOrSwappedBetweenMessages_failIntegrity() {
    byte[] pt = sample(4096 * 3);
    byte[] a = tenant.encrypt(pt, KC, AAD);
    byte[] b = tenant.encrypt(pt, KC, AAD); // same data key (cached), other message id
    MessageHeader h = MessageHeader.parse(a, 0, a.length);
    int unit = 4096 + 16;
    byte[] swapped = a.clone();
    System.arraycopy(a, h.length() + unit, swapped, h.length(), unit);
    System.arraycopy(a, h.length(), swapped, h.length() + unit, unit);
    assertThrows(IntegrityException.class, () -> tenant.decrypt(swapped, KC, AAD));
    byte[] spliced = a.clone();
    System.arraycopy(b, h.length() + unit, spliced, h.length() + unit, unit);
    assertThrows(IntegrityException.class, () -> tenant.decrypt(spliced, KC, AAD));
    assertArrayEquals(pt, tenant.decrypt(a, KC, AAD));
  }
}
