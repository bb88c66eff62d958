package com.panops.crypto.demo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class DemoIT {

  @Test
  void theDemoWalkthroughHoldsEveryExpectation() {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    boolean ok;
    try (PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
      ok = Demo.run(out);
    }
    String output = buffer.toString(StandardCharsets.UTF_8);
    assertTrue(ok, output);
    assertTrue(output.contains("KMS refused: DisabledException"), output);
    assertTrue(output.contains("refused: DisabledException"), output);
    assertTrue(!output.contains("[FAILED]"), output);
  }
}
