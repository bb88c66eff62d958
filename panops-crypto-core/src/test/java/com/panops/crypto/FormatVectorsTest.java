package com.panops.crypto;

import static com.panops.crypto.VectorInputs.HEX;
import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.FormatTestAccess;
import com.panops.crypto.format.FrameCipher;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageFormat;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.format.ReferenceEncoder;
import com.panops.crypto.format.ReferenceEncoder.Message;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The committed test vectors of format version 1 (src/test/resources/format-v1-vectors.txt,
 * described in docs/FORMAT.md). Each vector: fixed data key, message id, key context, key ARN,
 * encrypted data key, message AAD and plaintext, and the exact message bytes. Both the library and
 * an independent reference encoder written from the spec must produce exactly those bytes, and the
 * library must decrypt them back.
 *
 * <p>Regenerate (only when the format version changes) with {@code -Dvectors.write=PATH}.
 */
class FormatVectorsTest {
  record Vector(String name, ReferenceEncoder.Message message) {}

  static List<Vector> inputs() {
    byte[] dk = VectorInputs.countingKey();
    byte[] dk2 = VectorInputs.a5Key();
    byte[] id = HEX.parseHex("000102030405060708090a0b");
    byte[] id2 = HEX.parseHex("f0e1d2c3b4a5968778695a4b");
    byte[] id3 = HEX.parseHex("ffffffffffffffff00000000");
    byte[] id4 = HEX.parseHex("00000000000000000000002a");
    byte[] edk = "fake-kms-ciphertext-blob".getBytes(StandardCharsets.US_ASCII);
    String arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    byte[] pattern = VectorInputs.pattern(10_240);
    byte[] oneFrame = java.util.Arrays.copyOf(pattern, 4096);
    Map<String, String> kc = new LinkedHashMap<>();
    kc.put("class", "mail");
    kc.put("Region", "eu");
    return List.of(
        new Vector(
            "empty", new Message(dk, id, 4096, Map.of(), "acme", arn, edk, Map.of(), new byte[0])),
        new Vector(
            "hello",
            new Message(
                dk,
                id4,
                65536,
                kc,
                "acme",
                arn,
                edk,
                Map.of("bucket", "b1", "key", "inbox/1.eml"),
                "hello, world!".getBytes(StandardCharsets.UTF_8))),
        new Vector(
            "one-full-frame",
            new Message(dk2, id2, 4096, kc, "globex", arn, edk, Map.of("row", "7"), oneFrame)),
        new Vector(
            "two-and-a-half-frames",
            new Message(
                dk2,
                id3,
                4096,
                Map.of("class", "chat"),
                "tenant-ü",
                arn,
                edk,
                Map.of("table", "t", "column", "c", "row", "ü"),
                pattern)));
  }

  static byte[] library(Vector v) {
    Message in = v.message();
    FrameKey key = FrameKey.of(in.dataKey(), MessageFormat.SUITE_AES256_GCM_COMMIT);
    byte[] kc = KeyContext.from(in.keyContext()).canonical;
    byte[] template =
        MessageHeader.encodeTemplate(
            in.frameSize(),
            key,
            kc,
            in.tenant().getBytes(StandardCharsets.UTF_8),
            in.keyArn().getBytes(StandardCharsets.UTF_8),
            in.edk());
    return FormatTestAccess.encryptWithMessageId(
        key,
        template,
        MessageHeader.boundLength(kc.length, in.tenant().getBytes(StandardCharsets.UTF_8).length),
        in.frameSize(),
        MessageAad.from(in.aad()).canonical,
        in.plaintext(),
        in.messageId());
  }

  /** name -> the committed message. */
  static Map<String, byte[]> committed() throws IOException {
    Map<String, byte[]> m = new LinkedHashMap<>();
    VectorInputs.committed("/format-v1-vectors.txt").forEach((name, f) -> m.put(name, f[0]));
    return m;
  }

  @Test
  void libraryAndReferenceEncoder_produceTheCommittedBytes() throws Exception {
    VectorInputs.writeIfAsked(
        "# panops-crypto message format v1 test vectors: name hex(message). See docs/FORMAT.md.",
        inputs(),
        v -> v.name() + " " + HEX.formatHex(library(v)));
    Map<String, byte[]> committed = committed();
    assertEquals(inputs().size(), committed.size());
    for (Vector v : inputs()) {
      byte[] expected = committed.get(v.name());
      assertNotNull(expected, v.name());
      assertArrayEquals(expected, library(v), "library, " + v.name());
      assertArrayEquals(
          expected, ReferenceEncoder.encode(v.message()), "reference encoder, " + v.name());
    }
  }

  @Test
  void committedVectors_decryptToTheirPlaintext() throws Exception {
    Map<String, byte[]> committed = committed();
    for (Vector v : inputs()) {
      byte[] msg = committed.get(v.name());
      MessageHeader h = MessageHeader.parse(msg, 0, msg.length);
      assertEquals(v.message().keyArn(), h.keyArn());
      assertEquals(v.message().tenant(), h.tenant());
      assertEquals(v.message().frameSize(), h.frameSize());
      assertEquals(v.message().plaintext().length, h.plaintextLength(msg.length));
      FrameKey key = FrameKey.of(v.message().dataKey(), MessageFormat.SUITE_AES256_GCM_COMMIT);
      byte[] pt =
          FrameCipher.decrypt(
              key, h, MessageAad.from(v.message().aad()).canonical, msg, 0, msg.length);
      assertArrayEquals(v.message().plaintext(), pt, v.name());
    }
  }

  @Test
  void canonicalPairs_matchTheSpec_sortedByUtf8Bytes() {
    Map<String, String> m = Map.of("b", "2", "a", "1", "Z", "0", "é", "x");
    assertArrayEquals(ReferenceEncoder.pairs(m), KeyContext.from(m).canonical);
    assertArrayEquals(ReferenceEncoder.pairs(m), MessageAad.from(m).canonical);
  }
}
