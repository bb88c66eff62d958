package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.format.CompactReferenceEncoder;
import com.panops.crypto.format.FormatTestAccess;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
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
  static final HexFormat HEX = HexFormat.of();

  record Vector(
      String name,
      byte[] dataKey,
      long keyId,
      byte[] nonce,
      Map<String, String> keyContext,
      String tenant,
      Map<String, String> aad,
      byte[] plaintext) {}

  static List<Vector> inputs() {
    byte[] dk = new byte[32];
    for (int i = 0; i < 32; i++) {
      dk[i] = (byte) i;
    }
    byte[] dk2 = new byte[32];
    java.util.Arrays.fill(dk2, (byte) 0xA5);
    Map<String, String> kc = new LinkedHashMap<>();
    kc.put("table", "mail");
    kc.put("Region", "eu");
    byte[] pattern = new byte[1000];
    for (int i = 0; i < pattern.length; i++) {
      pattern[i] = (byte) (i * 31 + 7);
    }
    return List.of(
        new Vector(
            "empty",
            dk,
            0x0102030405060708L,
            HEX.parseHex("000102030405060708090a0b"),
            Map.of(),
            "acme",
            Map.of(),
            new byte[0]),
        new Vector(
            "subject",
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
            "Quarterly numbers".getBytes(StandardCharsets.UTF_8)),
        new Vector(
            "one-kilobyte",
            dk2,
            1L,
            HEX.parseHex("ffffffffffffffff00000000"),
            Map.of("class", "chat"),
            "tenant-ü",
            Map.of("row", "ü"),
            pattern));
  }

  static byte[] library(Vector v) {
    FrameKey key = FrameKey.of(v.dataKey(), MessageFormat.SUITE_AES256_GCM_COMMIT);
    byte[] ctx =
        CompactFormat.context(
            v.tenant().getBytes(StandardCharsets.UTF_8), KeyContext.from(v.keyContext()).canonical);
    return FormatTestAccess.compactWithNonce(
        key, v.keyId(), ctx, MessageAad.from(v.aad()).canonical, v.plaintext(), v.nonce());
  }

  static byte[] libraryCommitment(Vector v) {
    FrameKey key = FrameKey.of(v.dataKey(), MessageFormat.SUITE_AES256_GCM_COMMIT);
    byte[] ctx =
        CompactFormat.context(
            v.tenant().getBytes(StandardCharsets.UTF_8), KeyContext.from(v.keyContext()).canonical);
    return CompactFormat.commitment(key, v.keyId(), ctx);
  }

  /** name -> {value, commitment}. */
  static Map<String, byte[][]> committed() throws IOException {
    Map<String, byte[][]> m = new LinkedHashMap<>();
    try (InputStream in = CompactVectorsTest.class.getResourceAsStream("/format-v2-vectors.txt")) {
      assertNotNull(in, "committed vectors missing");
      for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] parts = line.trim().split(" ");
        m.put(parts[0], new byte[][] {HEX.parseHex(parts[1]), HEX.parseHex(parts[2])});
      }
    }
    return m;
  }

  @Test
  void libraryAndReferenceEncoder_produceTheCommittedBytes() throws Exception {
    String write = System.getProperty("vectors.write");
    if (write != null) {
      List<String> lines = new ArrayList<>();
      lines.add(
          "# panops-crypto compact values (format v2) test vectors:"
              + " name hex(value) hex(registry commitment). See docs/FORMAT.md.");
      for (Vector v : inputs()) {
        lines.add(
            v.name() + " " + HEX.formatHex(library(v)) + " " + HEX.formatHex(libraryCommitment(v)));
      }
      Files.write(Path.of(write), lines);
    }
    Map<String, byte[][]> committed = committed();
    assertEquals(inputs().size(), committed.size());
    for (Vector v : inputs()) {
      byte[][] expected = committed.get(v.name());
      assertNotNull(expected, v.name());
      assertEquals(v.plaintext().length + 38, expected[0].length, "overhead, " + v.name());
      assertArrayEquals(expected[0], library(v), "library, " + v.name());
      assertArrayEquals(
          expected[0],
          CompactReferenceEncoder.encode(
              v.dataKey(),
              v.keyId(),
              v.nonce(),
              v.keyContext(),
              v.tenant(),
              v.aad(),
              v.plaintext()),
          "reference encoder, " + v.name());
      assertArrayEquals(expected[1], libraryCommitment(v), "library commitment, " + v.name());
      assertArrayEquals(
          expected[1],
          CompactReferenceEncoder.commitment(v.dataKey(), v.keyId(), v.tenant(), v.keyContext()),
          "reference commitment, " + v.name());
    }
  }

  @Test
  void committedVectors_decryptToTheirPlaintext_andOnlyInTheirPlace() throws Exception {
    Map<String, byte[][]> committed = committed();
    for (Vector v : inputs()) {
      byte[] value = committed.get(v.name())[0];
      assertEquals(v.keyId(), CompactFormat.keyId(value));
      FrameKey key = FrameKey.of(v.dataKey(), MessageFormat.SUITE_AES256_GCM_COMMIT);
      byte[] ctx =
          CompactFormat.context(
              v.tenant().getBytes(StandardCharsets.UTF_8),
              KeyContext.from(v.keyContext()).canonical);
      assertArrayEquals(
          v.plaintext(),
          CompactFormat.open(key, value, ctx, MessageAad.from(v.aad()).canonical),
          v.name());
      byte[] otherTenant =
          CompactFormat.context(
              "other".getBytes(StandardCharsets.UTF_8), KeyContext.from(v.keyContext()).canonical);
      assertThrows(
          IntegrityException.class,
          () -> CompactFormat.open(key, value, otherTenant, MessageAad.from(v.aad()).canonical));
      assertThrows(
          IntegrityException.class,
          () -> CompactFormat.open(key, value, ctx, MessageAad.of("row", "elsewhere").canonical));
    }
  }
}
