package com.panops.crypto.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A command-line main run in its own JVM on the test class path, and what it prints. */
public final class MainInItsOwnJvm {

  private MainInItsOwnJvm() {}

  /** A process builder for {@code java -cp <test class path> main args...}, stderr into stdout. */
  public static ProcessBuilder java(Class<?> main, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main.getName());
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true);
  }

  /**
   * The "name: value" lines the process prints before its "Stop with" line, read within the
   * timeout.
   */
  public static Map<String, String> printedBeforeStopWith(Process p, Duration timeout)
      throws Exception {
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    return CompletableFuture.supplyAsync(
            () -> {
              Map<String, String> m = new LinkedHashMap<>();
              try {
                String line;
                while ((line = out.readLine()) != null && !line.startsWith("Stop with")) {
                  int colon = line.indexOf(": ");
                  if (colon > 0) {
                    m.put(line.substring(0, colon).trim(), line.substring(colon + 2).trim());
                  }
                }
              } catch (IOException e) {
                throw new UncheckedIOException(e);
              }
              return m;
            })
        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
