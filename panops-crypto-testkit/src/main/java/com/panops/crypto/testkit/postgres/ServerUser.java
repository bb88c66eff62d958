package com.panops.crypto.testkit.postgres;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The unprivileged user the server runs as when the JVM runs as root (PostgreSQL refuses to run as
 * root): its commands are prefixed with {@code setpriv}, and the files it must own are chowned.
 */
final class ServerUser {

  private ServerUser() {}

  /**
   * The user to run the server as: {@code requested} if given, {@code nobody} as root, else none.
   */
  static String choose(String requested) {
    return requested != null ? requested : (isRoot() ? "nobody" : null);
  }

  private static boolean isRoot() {
    try {
      Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      return Integer.valueOf(0).equals(uid);
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  /** The first directory above {@code dir} that others may not enter; null if there is none. */
  static Path closedParent(Path dir) throws IOException {
    for (Path d = dir.getParent(); d != null; d = d.getParent()) {
      if (!Files.getPosixFilePermissions(d).contains(PosixFilePermission.OTHERS_EXECUTE)) {
        return d;
      }
    }
    return null;
  }

  /** The command prefix that runs a command as {@code user}; empty for none (null). */
  static List<String> commandPrefix(String user) throws IOException {
    if (user == null) {
      return List.of();
    }
    String uid = idOf("-u", user);
    String gid = idOf("-g", user);
    return List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--");
  }

  private static String idOf(String flag, String user) throws IOException {
    Process p =
        new ProcessBuilder("id", flag, user)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(nullFile()))
            .start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    }
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0 || !out.matches("[0-9]+")) {
        throw new IOException("no such user to run PostgreSQL as: " + user + " (" + out + ")");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return out;
  }

  /** Gives {@code p} to {@code user}. */
  static void chown(Path p, String user) throws IOException {
    var lookup = p.getFileSystem().getUserPrincipalLookupService();
    Files.setOwner(p, lookup.lookupPrincipalByName(user));
  }

  /** {@code /dev/null}, the standard input of every command. */
  static File nullFile() {
    return new File("/dev/null");
  }
}
