package com.panops.crypto.testkit.postgres;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line: TlsPostgresMain in its own JVM, used with what it prints (pgjdbc with the
 * verify-full URL and the CA file it names), stopped as Ctrl-C stops it (SIGTERM).
 */
class TlsPostgresCliIT {

  static Map<String, String> printed(Process p) throws Exception {
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
              } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
              return m;
            })
        .get(120, TimeUnit.SECONDS);
  }

  @Test
  void theCliPrintsAVerifyFullUrlAndCaFileThatPgjdbcConnectsWith_andCleansUpOnStop(
      @TempDir Path dir) throws Exception {
    // as root the server runs as nobody, who must be able to enter the work directory
    Files.setPosixFilePermissions(
        dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Path ca = dir.resolve("certs/ca.pem");
    Path work = dir.resolve("work");
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p =
        new ProcessBuilder(
                javaBin,
                "-cp",
                System.getProperty("java.class.path"),
                TlsPostgresMain.class.getName(),
                "--port",
                "0",
                "--ca-file",
                ca.toString(),
                "--work-dir",
                work.toString(),
                "--allow-plaintext")
            .redirectErrorStream(true)
            .start();
    try {
      Map<String, String> m = printed(p);
      assertEquals(ca.toString(), m.get("ca file"), m.toString());
      assertTrue(Files.readString(ca).contains("BEGIN CERTIFICATE"));
      String url = m.get("jdbc url");
      assertTrue(url.contains("sslmode=verify-full&sslrootcert=" + ca), url);
      try (Connection c = DriverManager.getConnection(url, "postgres", "");
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
        assertTrue(rs.next());
        assertTrue(rs.getBoolean(1), "a TLS session");
      }
      String plain = "jdbc:postgresql://localhost:" + m.get("port") + "/postgres?sslmode=disable";
      try (Connection c = DriverManager.getConnection(plain, "postgres", "");
          Statement s = c.createStatement();
          ResultSet rs =
              s.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
        assertTrue(rs.next());
        assertFalse(rs.getBoolean(1), "--allow-plaintext: a plaintext session is accepted");
      }
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
