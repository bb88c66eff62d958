package com.panops.crypto.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The walkthrough passes with another process loading both cores: a separate JVM ({@link
 * CpuBurner}, java from {@code java.home}) keeps {@value #BURN_THREADS} threads busy for the whole
 * run, then is killed. The limits are derived from round trips measured during the run, so they
 * account for the load; the expectations are the same as {@link DemoIT}'s.
 */
@Tag("process-level")
class DemoUnderLoadIT {
  static final int BURN_THREADS = 2;

  @Test
  void theWalkthroughHoldsWithAnotherProcessLoadingBothCores() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    String classes =
        Path.of(CpuBurner.class.getProtectionDomain().getCodeSource().getLocation().toURI())
            .toString();
    Process burner =
        new ProcessBuilder(
                List.of(
                    java.toString(),
                    "-Xmx32m",
                    "-cp",
                    classes,
                    CpuBurner.class.getName(),
                    Integer.toString(BURN_THREADS)))
            .redirectErrorStream(true)
            .start();
    try {
      BufferedReader out =
          new BufferedReader(
              new InputStreamReader(burner.getInputStream(), StandardCharsets.UTF_8));
      assertEquals("burning " + BURN_THREADS + " threads", out.readLine());
      long t0 = System.nanoTime();
      Duration cpu0 = cpu(burner);

      ByteArrayOutputStream buffer = new ByteArrayOutputStream();
      Walkthrough.Result r = DemoIT.run(buffer);

      Duration wall = Duration.ofNanos(System.nanoTime() - t0);
      Duration burnt = cpu(burner).minus(cpu0);
      assertTrue(burner.isAlive(), "the load ran for the whole walkthrough");
      System.out.printf(
          "[load] the burner used %.1f s of CPU over %.1f s of walkthrough (%.2f cores)%n",
          burnt.toMillis() / 1e3,
          wall.toMillis() / 1e3,
          burnt.toMillis() / (double) wall.toMillis());
      // it really loaded the machine: on average at least half a core (other processes share it)
      assertTrue(
          burnt.toMillis() >= wall.toMillis() / 2,
          "the burner used only " + burnt + " of CPU in " + wall);
      DemoIT.assertHolds(r, buffer.toString(StandardCharsets.UTF_8));
    } finally {
      burner.destroyForcibly();
      burner.waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static Duration cpu(Process p) {
    return p.toHandle().info().totalCpuDuration().orElseThrow();
  }
}
