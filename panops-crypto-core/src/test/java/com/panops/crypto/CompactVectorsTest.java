package com.panops.crypto;

import static com.panops.crypto.VectorInputs.HEX;
import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.format.CompactReferenceEncoder;
import com.panops.crypto.format.CompactReferenceEncoder.Value;
import com.panops.crypto.format.FormatTestAccess;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The committed test vectors of the compact format, version 2
 * (src/test/resources/format-v2-vectors.txt, described in docs/FORMAT.md, "Compact values"). Each
 * vector: fixed data key, key id, nonce, key context, tenant, message AAD and plaintext; the exact
 * value bytes and the registry row's commitment. Both ways: the library and an independent
 * reference encoder written from the spec must produce exactly those bytes, and the library must
 * decrypt the committed bytes back (and refuse them under another tenant or AAD).
 *
 * <p>Regenerate (only when the format changes) with {@code -Dvectors.write=PATH}.
 */
class CompactVectorsTest {
  record Vector(String name, CompactReferenceEncoder.Value value) {}

  static List<Vector> inputs() {
    byte[] dk = VectorInputs.countingKey();
    byte[] dk2 = VectorInputs.a5Key();
    Map<String, String> kc = new LinkedHashMap<>();
    kc.put("table", "mail");
    kc.put("Region", "eu");
    byte[] pattern = VectorInputs.pattern(1000);
    return List.of(
        new Vector(
            "empty",
            new Value(
                dk,
                0x0102030405060708L,
                HEX.parseHex("000102030405060708090a0b"),
                Map.of(),
                "acme",
                Map.of(),
                new byte[0])),
        new Vector(
            "subject",
            new Value(
                dk,
                0xfedcba9876543210L,
                HEX.parseHex("f0e1d2c3b4a5968778695a4b"),
                kc,
                "acme",
                Map.of(
                    "jdbc.tenant",
                    "acme",
                    "jdbc.table",
                    "mail",
                    "jdbc.column",
                    "subject",
                    "jdbc.row",
                    "42"),
                "Quarterly numbers".getBytes(StandardCharsets.UTF_8))),
        new Vector(
            "one-kilobyte",
            new Value(
                dk2,
                1L,
                HEX.parseHex("ffffffffffffffff00000000"),
                Map.of("class", "chat"),
                "tenant-ü",
                Map.of("row", "ü"),
                pattern)));
  }

  /** The value's data key. */
  static FrameKey key(Value in) {
    return FrameKey.of(in.dataKey(), MessageFormat.SUITE_AES256_GCM_COMMIT);
  }

  /** The value's context: its tenant and key context. */
  static byte[] context(Value in) {
    return CompactFormat.context(
        in.tenant().getBytes(StandardCharsets.UTF_8), KeyContext.from(in.keyContext()).canonical);
  }

  static byte[] library(Vector v) {
    Value in = v.value();
    return FormatTestAccess.compactWithNonce(
        key(in),
        in.keyId(),
        context(in),
        MessageAad.from(in.aad()).canonical,
        in.plaintext(),
        in.nonce());
  }

  static byte[] libraryCommitment(Vector v) {
    Value in = v.value();
    return CompactFormat.commitment(key(in), in.keyId(), context(in));
  }

  /** name -> {value, commitment}. */
  static Map<String, byte[][]> committed() throws IOException {
    return VectorInputs.committed("/format-v2-vectors.txt");
  }

  @Test
  void libraryAndReferenceEncoder_produceTheCommittedBytes() throws Exception {
    VectorInputs.writeIfAsked(
        "# panops-crypto compact values (format v2) test vectors:"
            + " name hex(value) hex(registry commitment). See docs/FORMAT.md.",
        inputs(),
        v ->
            v.name() + " " + HEX.formatHex(library(v)) + " " + HEX.formatHex(libraryCommitment(v)));
    Map<String, byte[][]> committed = committed();
    assertEquals(inputs().size(), committed.size());
    for (Vector v : inputs()) {
      byte[][] expected = committed.get(v.name());
      assertNotNull(expected, v.name());
      assertEquals(v.value().plaintext().length + 38, expected[0].length, "overhead, " + v.name());
      assertArrayEquals(expected[0], library(v), "library, " + v.name());
      assertArrayEquals(
          expected[0], CompactReferenceEncoder.encode(v.value()), "reference encoder, " + v.name());
      assertArrayEquals(expected[1], libraryCommitment(v), "library commitment, " + v.name());
      assertArrayEquals(
          expected[1],
          CompactReferenceEncoder.commitment(
              v.value().dataKey(), v.value().keyId(), v.value().tenant(), v.value().keyContext()),
          "reference commitment, " + v.name());
    }
  }

  @Test
  void committedVectors_decryptToTheirPlaintext_andOnlyInTheirPlace() throws Exception {
    Map<String, byte[][]> committed = committed();
    for (Vector v : inputs()) {
      byte[] value = committed.get(v.name())[0];
      assertEquals(v.value().keyId(), CompactFormat.keyId(value));
      FrameKey key = key(v.value());
      byte[] ctx = context(v.value());
      assertArrayEquals(
          v.value().plaintext(),
          CompactFormat.open(key, value, ctx, MessageAad.from(v.value().aad()).canonical),
          v.name());
      byte[] otherTenant =
          CompactFormat.context(
              "other".getBytes(StandardCharsets.UTF_8),
              KeyContext.from(v.value().keyContext()).canonical);
      assertThrows(
          IntegrityException.class,
          () ->
              CompactFormat.open(
                  key, value, otherTenant, MessageAad.from(v.value().aad()).canonical));
      assertThrows(
          IntegrityException.class,
          () -> CompactFormat.open(key, value, ctx, MessageAad.of("row", "elsewhere").canonical));
    }
  }
}
