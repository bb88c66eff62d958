package com.panops.crypto.demo;

import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The certificate check is real: a session trusting another root CA and a session to an address the
 * certificate does not name are both refused; TLS without verification is refused before
 * connecting.
 */
final class TlsRefusals {
  private TlsRefusals() {}

  static void show(DemoRun run) throws Exception {
    Path dir = Files.createTempDirectory("panops-demo-tls-");
    try {
      wrongCa(run, dir);
      wrongHost(run);
      try (var files = Files.list(dir)) {
        for (Path f : files.toList()) {
          Files.delete(f);
        }
      }
    } finally {
      Files.deleteIfExists(dir);
    }
    insecureMode(run);
  }

  /** A verify-full session trusting another root CA (generated in {@code dir}). */
  private static void wrongCa(DemoRun run, Path dir) throws Exception {
    Path otherCa = DemoTls.otherRootCa(dir);
    DemoTls.Attempt wrongCa =
        DemoTls.attempt(DemoTls.verifyFull(run.servers.postgres, "localhost", otherCa));
    run.con.kv("  verify-full trusting another root CA", wrongCa.toString());
    run.checks.expect(
        "a session trusting another root CA is refused in the TLS handshake",
        Checks.wrongCaRefused(wrongCa));
  }

  /** A verify-full session to an address the certificate does not name, and verify-ca to it. */
  private static void wrongHost(DemoRun run) throws Exception {
    Path ca = run.servers.postgres.caCertificateFile();
    DemoTls.Attempt wrongHost =
        DemoTls.attempt(DemoTls.verifyFull(run.servers.postgres, DemoTls.OTHER_LOOPBACK, ca));
    DemoTls.Attempt unchecked =
        DemoTls.attempt(DemoTls.verifyCaOnly(run.servers.postgres, DemoTls.OTHER_LOOPBACK, ca));
    run.con.kv(
        "  verify-full to " + DemoTls.OTHER_LOOPBACK + " (not in the certificate)",
        wrongHost + "; verify-ca (no name check): " + unchecked);
    run.checks.expect(
        "a session to an address the certificate does not name is refused (host-name check)",
        Checks.wrongHostRefused(wrongHost, unchecked));
  }

  /** sslmode=require: TLS without a certificate check, refused before connecting. */
  private static void insecureMode(DemoRun run) {
    PGSimpleDataSource weak = new PGSimpleDataSource();
    weak.setUrl(run.servers.postgres.jdbcUrlWithoutTls("postgres") + "?sslmode=require");
    weak.setUser(run.servers.postgres.user());
    String state = null;
    try (Connection c = TlsEnforcingDataSource.requireVerifyFull(weak).getConnection()) {
      state = "connected";
    } catch (SQLException e) {
      state = e.getSQLState();
    }
    run.checks.expect(
        "TlsEnforcingDataSource refuses sslmode=require (no certificate check)",
        Checks.insecureModeRefused(state));
  }
}
