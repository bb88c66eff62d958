package com.panops.crypto.testkit.s3;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** What the S3 servers started as child processes share: their jar, ports, readiness, logs. */
final class ChildServers {
  private ChildServers() {}

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
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException ignored) {
                  // best effort: a temporary directory
                }
              });
    } catch (IOException ignored) {
      // best effort
    }
  }
}
