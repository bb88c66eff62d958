package com.panops.crypto.testkit.postgres;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The PostgreSQL commands of one server, run as its user with bounded waits: {@code initdb}, the
 * {@code postgres} server itself (its output goes to the log) and {@code pg_ctl stop}.
 */
final class PostgresCommands {

  private final Path binDir;
  private final Path baseDir;
  private final Path dataDir;
  private final Path logFile;
  private final List<String> runAs;

  /**
   * @param baseDir where each command's output goes while it runs
   * @param runAs the prefix that runs a command as the server's user (empty: as this JVM's)
   */
  PostgresCommands(Path binDir, Path baseDir, Path dataDir, Path logFile, List<String> runAs) {
    this.binDir = binDir;
    this.baseDir = baseDir;
    this.dataDir = dataDir;
    this.logFile = logFile;
    this.runAs = runAs;
  }

  /** A fresh data directory: trust authentication for {@code superuser}, UTF-8, no locale. */
  void initdb(String superuser, Duration timeout) throws IOException {
    run(
        List.of(
            binDir.resolve("initdb").toString(),
            "-A",
            "trust",
            "-U",
            superuser,
            "-D",
            dataDir.toString(),
            "-E",
            "UTF-8",
            "--no-locale",
            "--no-sync"),
        timeout);
  }

  /** Starts the server and waits until its log says it accepts connections. */
  Process startServer(int port, Map<String, String> config, Duration timeout) throws IOException {
    List<String> cmd = new ArrayList<>(runAs);
    cmd.add(binDir.resolve("postgres").toString());
    cmd.add("-D");
    cmd.add(dataDir.toString());
    cmd.add("-p");
    cmd.add(Integer.toString(port));
    for (Map.Entry<String, String> e : config.entrySet()) {
      cmd.add("-c");
      cmd.add(e.getKey() + "=" + e.getValue());
    }
    Files.deleteIfExists(logFile);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.from(ServerUser.nullFile()));
    Process p = pb.start();
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        if (log().contains("database system is ready to accept connections")) {
          return p;
        }
        if (!p.isAlive()) {
          throw new IOException("postgres exited with " + p.exitValue() + ":\n" + log());
        }
        Thread.sleep(25);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while waiting for postgres", e);
    }
    p.destroyForcibly();
    throw new IOException("postgres not ready after " + timeout + ":\n" + log());
  }

  /**
   * Stops the server with {@code pg_ctl stop -m fast} (open sessions are terminated), then kills
   * the process if it is still running; every wait is bounded.
   */
  void stop(Process p) {
    try {
      try {
        run(
            List.of(
                binDir.resolve("pg_ctl").toString(),
                "stop",
                "-D",
                dataDir.toString(),
                "-m",
                "fast",
                "-w",
                "-t",
                "20"),
            Duration.ofSeconds(25));
      } catch (IOException | RuntimeException e) {
        // fall through to killing the process
      }
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
    }
  }

  /** The server's log so far (stdout and stderr). */
  String log() {
    try {
      return Files.readString(logFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  private void run(List<String> command, Duration timeout) throws IOException {
    List<String> cmd = new ArrayList<>(runAs);
    cmd.addAll(command);
    Path out = Files.createTempFile(baseDir, "cmd-", ".log");
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(ServerUser.nullFile()))
            .start();
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException(command.get(0) + " did not finish in " + timeout);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(
          String.join(" ", command)
              + " exited with "
              + p.exitValue()
              + ":\n"
              + Files.readString(out, StandardCharsets.UTF_8));
    }
  }
}
