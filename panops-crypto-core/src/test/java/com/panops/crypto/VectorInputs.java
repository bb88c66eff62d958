package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** What the committed test vectors of both formats share: their inputs and their files' layout. */
final class VectorInputs {
  static final HexFormat HEX = HexFormat.of();

  private VectorInputs() {}

  /** The data key 00 01 02 .. 1f. */
  static byte[] countingKey() {
    byte[] dk = new byte[32];
    for (int i = 0; i < 32; i++) {
      dk[i] = (byte) i;
    }
    return dk;
  }

  /** The data key of 32 bytes 0xA5. */
  static byte[] a5Key() {
    byte[] dk = new byte[32];
    Arrays.fill(dk, (byte) 0xA5);
    return dk;
  }

  /** {@code length} bytes of the pattern i * 31 + 7. */
  static byte[] pattern(int length) {
    byte[] b = new byte[length];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (i * 31 + 7);
    }
    return b;
  }

  /**
   * Regenerates a committed vectors file when asked ({@code -Dvectors.write=PATH}): {@code header},
   * then a line per vector.
   */
  static <V> void writeIfAsked(String header, List<V> vectors, Function<V, String> line)
      throws IOException {
    String write = System.getProperty("vectors.write");
    if (write != null) {
      List<String> lines = new ArrayList<>();
      lines.add(header);
      for (V v : vectors) {
        lines.add(line.apply(v));
      }
      Files.write(Path.of(write), lines);
    }
  }

  /**
   * A committed vectors file: each line not blank nor a comment (#) is a name and hex fields,
   * separated by spaces; name to its fields, decoded, in the file's order.
   */
  static Map<String, byte[][]> committed(String resource) throws IOException {
    Map<String, byte[][]> m = new LinkedHashMap<>();
    try (InputStream in = VectorInputs.class.getResourceAsStream(resource)) {
      assertNotNull(in, "committed vectors missing");
      for (String line : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        String[] parts = line.trim().split(" ");
        byte[][] fields = new byte[parts.length - 1][];
        for (int i = 1; i < parts.length; i++) {
          fields[i - 1] = HEX.parseHex(parts[i]);
        }
        m.put(parts[0], fields);
      }
    }
    return m;
  }
}
