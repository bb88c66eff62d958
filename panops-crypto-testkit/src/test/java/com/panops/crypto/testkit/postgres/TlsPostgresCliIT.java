package com.panops.crypto.testkit.postgres;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.testkit.MainInItsOwnJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line: TlsPostgresMain in its own JVM, used with what it prints (pgjdbc with the
 * verify-full URL and the CA file it names), stopped as Ctrl-C stops it (SIGTERM).
 */
class TlsPostgresCliIT {

  /** Whether a session opened with the URL is a TLS session, as the server itself reports. */
  private static boolean isTlsSession(String url) throws Exception {
    try (Connection c = DriverManager.getConnection(url, "postgres", "");
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
      assertTrue(rs.next());
      return rs.getBoolean(1);
    }
  }

  @Test
  void theCliPrintsAVerifyFullUrlAndCaFileThatPgjdbcConnectsWith_andCleansUpOnStop(
      @TempDir Path dir) throws Exception {
    // as root the server runs as nobody, who must be able to enter the work directory
    Files.setPosixFilePermissions(
        dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Path ca = dir.resolve("certs/ca.pem");
    Path work = dir.resolve("work");
    Process p =
        MainInItsOwnJvm.java(
                TlsPostgresMain.class,
                "--port",
                "0",
                "--ca-file",
                ca.toString(),
                "--work-dir",
                work.toString(),
                "--allow-plaintext")
            .start();
    try {
      Map<String, String> m = MainInItsOwnJvm.printedBeforeStopWith(p, Duration.ofSeconds(120));
      assertEquals(ca.toString(), m.get("ca file"), m.toString());
      assertTrue(Files.readString(ca).contains("BEGIN CERTIFICATE"));
      String url = m.get("jdbc url");
      assertTrue(url.contains("sslmode=verify-full&sslrootcert=" + ca), url);
      assertTrue(isTlsSession(url), "a TLS session");
      String plain = "jdbc:postgresql://localhost:" + m.get("port") + "/postgres?sslmode=disable";
      assertFalse(isTlsSession(plain), "--allow-plaintext: a plaintext session is accepted");
      try (Stream<Path> files = Files.list(work)) {
        assertEquals(
            1, files.filter(f -> f.getFileName().toString().startsWith("panops-pg-")).count());
      }
    } finally {
      p.destroy(); // SIGTERM, as Ctrl-C: the shutdown hook stops the server
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "stopped");
    }
    try (Stream<Path> files = Files.list(work)) {
      assertEquals(0, files.count(), "the server's files are deleted when it stops");
    }
    assertTrue(Files.exists(ca), "the CA copy stays");
  }
}
