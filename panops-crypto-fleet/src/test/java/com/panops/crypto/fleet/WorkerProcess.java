package com.panops.crypto.fleet;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A worker JVM running {@link FleetWorkerMain}: started with the {@code java} of {@code java.home}
 * and this JVM's class path, its stdout parsed into timestamped lines (see the main's comment), its
 * stderr in {@code target/fleet-workers/NAME.log}. Times are wall-clock milliseconds, the same
 * clock in every process of this machine.
 */
final class WorkerProcess implements AutoCloseable {
  /** One reported line: its words and, if it has one, its time. */
  record Line(String kind, int key, String value, long ms) {}

  final String name;
  final Process process;
  final List<Line> lines = new CopyOnWriteArrayList<>();
  private final Thread reader;

  WorkerProcess(String name, List<String> args) throws IOException {
    this.name = name;
    Path logs = Path.of("target", "fleet-workers");
    Files.createDirectories(logs);
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx128m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.add("-Daws.disableEc2Metadata=true");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(FleetWorkerMain.class.getName());
    cmd.add("name=" + name);
    cmd.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
    pb.redirectError(new File(logs.toFile(), name + ".log"));
    this.process = pb.start();
    this.reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String l;
                while ((l = r.readLine()) != null) {
                  lines.add(parse(l));
                }
              } catch (IOException e) {
                // the process ended
              }
            },
            "worker-" + name);
    reader.setDaemon(true);
    reader.start();
  }

  static Line parse(String l) {
    String[] w = l.split(" ");
    long now = System.currentTimeMillis();
    switch (w[0]) {
      case "STATE":
        return new Line("STATE", Integer.parseInt(w[1]), w[2], Long.parseLong(w[3]));
      case "EVENT":
        return new Line("EVENT", Integer.parseInt(w[2]), w[1], Long.parseLong(w[3]));
      case "PROBE":
        return new Line("PROBE", Integer.parseInt(w[1]), "", Long.parseLong(w[2]));
      case "ASSIGNED":
        return new Line("ASSIGNED", Integer.parseInt(w[1]), w[2], now);
      case "HEALTHY":
        return new Line("HEALTHY", -1, w[1], Long.parseLong(w[2]));
      default:
        return new Line(w[0], -1, l, now);
    }
  }

  /**
   * The first line at or after {@code fromMs} matching {@code p}, waiting until {@code untilMs}.
   */
  Line await(long fromMs, long untilMs, Predicate<Line> p) throws InterruptedException {
    for (; ; ) {
      for (Line l : lines) {
        if (l.ms() >= fromMs && p.test(l)) {
          return l;
        }
      }
      if (System.currentTimeMillis() > untilMs || !process.isAlive()) {
        return null;
      }
      Thread.sleep(10);
    }
  }

  void awaitReady(Duration wait) throws InterruptedException {
    Line l = await(0, System.currentTimeMillis() + wait.toMillis(), x -> x.kind().equals("READY"));
    assertNotNull(l, name + " not ready within " + wait + " (see target/fleet-workers)");
  }

  /** The latest value of {@code kind} for {@code key} (-1: none), or null. */
  String current(String kind, int key) {
    String v = null;
    for (Line l : lines) {
      if (l.kind().equals(kind) && l.key() == key) {
        v = l.value();
      }
    }
    return v;
  }

  /** This worker's probes of {@code key} in [fromMs, toMs). */
  long probes(int key, long fromMs, long toMs) {
    return lines.stream()
        .filter(l -> l.kind().equals("PROBE") && l.key() == key)
        .filter(l -> l.ms() >= fromMs && l.ms() < toMs)
        .count();
  }

  /** SIGKILL (Process.destroyForcibly on Linux); returns the exit value (137 = 128 + SIGKILL). */
  int kill() throws InterruptedException {
    process.destroyForcibly();
    assertTrue(process.waitFor(10, TimeUnit.SECONDS), name + " did not die");
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      try {
        OutputStream in = process.getOutputStream();
        in.write("QUIT\n".getBytes(StandardCharsets.US_ASCII));
        in.flush();
        in.close();
      } catch (IOException e) {
        // already gone
      }
      try {
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
  }

  @Override
  public String toString() {
    return name;
  }
}
