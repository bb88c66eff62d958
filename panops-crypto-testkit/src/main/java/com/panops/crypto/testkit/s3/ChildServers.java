package com.panops.crypto.testkit.s3;

import com.panops.crypto.testkit.internal.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

/** What the S3 servers started as child processes share: their jar, ports, readiness, logs. */
final class ChildServers {
  private ChildServers() {}

  /**
   * How a child server's start is judged and reported.
   *
   * @param name the server's name in messages, e.g. {@code S3Mock}
   * @param probe the URI it answers once it serves
   * @param serving whether an HTTP status (-1: no answer) means it serves
   * @param pollMillis the pause between probes
   * @param timeout how long it may take to serve
   * @param log where its output goes (its tail goes into the failure's message)
   * @param logNote added to a failure's message after the reason, e.g. {@code "; log FILE"}
   * @param dir its directory, deleted when the start fails
   */
  record Startup(
      String name,
      URI probe,
      IntPredicate serving,
      long pollMillis,
      Duration timeout,
      Path log,
      String logNote,
      Path dir) {}

  /** The server could not bind the port it was given: try again with another. */
  static final class PortTakenException extends RuntimeException {
    private static final long serialVersionUID = 1L;
  }

  /**
   * The jar: the path in system property {@code property} if set (it must exist), else the copy in
   * the local Maven repository at {@code m2Path} (below {@code ~/.m2/repository}).
   *
   * @throws IllegalStateException if neither exists; the message says how to get it
   */
  static Path locateJar(String property, String what, String howToGet, String... m2Path) {
    String prop = System.getProperty(property);
    if (prop != null && !prop.isBlank()) {
      Path p = Paths.get(prop);
      if (Files.isRegularFile(p)) {
        return p;
      }
      throw new IllegalStateException(property + " names no file: " + p);
    }
    Path m2 = Paths.get(System.getProperty("user.home"), ".m2", "repository");
    for (String part : m2Path) {
      m2 = m2.resolve(part);
    }
    if (Files.isRegularFile(m2)) {
      return m2;
    }
    throw new IllegalStateException(what + " not found: set -D" + property + " or " + howToGet);
  }

  /** The HTTP status {@code uri} answers an unsigned GET with, or -1 if it does not answer. */
  static int status(URI uri) {
    try {
      HttpURLConnection c = (HttpURLConnection) uri.toURL().openConnection();
      c.setConnectTimeout(500);
      c.setReadTimeout(2000);
      try {
        return c.getResponseCode();
      } finally {
        c.disconnect();
      }
    } catch (IOException e) {
      return -1;
    }
  }

  /** A free port on the loopback address. */
  static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The last 40 lines of {@code log}, for an error message. */
  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException | RuntimeException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  /** Deletes a temporary directory, best effort. */
  static void deleteTree(Path dir) {
    FileTrees.deleteRecursively(dir);
  }

  /**
   * The command line that runs {@code jar} in a child JVM of this JVM's Java with heap limit {@code
   * maxHeap}, the serial collector and IPv4.
   */
  static List<String> javaJarCommand(String maxHeap, Path jar) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx" + maxHeap);
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-Djava.net.preferIPv4Stack=true");
    cmd.add("-jar");
    cmd.add(jar.toString());
    return cmd;
  }

  /**
   * Starts {@code cmd} with its output (stdout and stderr) in {@code log}, no instance metadata.
   */
  static Process launch(List<String> cmd, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.redirectErrorStream(true);
    pb.redirectOutput(log.toFile());
    pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
    return pb.start();
  }

  /**
   * Waits until the started server serves. If it exits first or does not serve in time, it is
   * killed and its directory deleted, and this throws {@link PortTakenException} if its log says
   * its port was taken, else an {@link IllegalStateException} with the tail of its log.
   */
  static void awaitServing(Process p, Startup s) {
    long deadline = System.nanoTime() + s.timeout().toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        String tail = tail(s.log());
        deleteTree(s.dir());
        if (tail.contains("already in use") || tail.contains("BindException")) {
          throw new PortTakenException();
        }
        throw new IllegalStateException(
            s.name()
                + " exited with "
                + p.exitValue()
                + " during start"
                + s.logNote()
                + ":\n"
                + tail);
      }
      if (s.serving().test(status(s.probe()))) {
        return;
      }
      try {
        Thread.sleep(s.pollMillis());
      } catch (InterruptedException e) {
        p.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while starting " + s.name(), e);
      }
    }
    p.destroyForcibly();
    String tail = tail(s.log());
    deleteTree(s.dir());
    throw new IllegalStateException(
        s.name() + " did not answer within " + s.timeout() + s.logNote() + ":\n" + tail);
  }
}
