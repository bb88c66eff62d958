package com.panops.crypto.demo;

import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.testkit.postgres.TestCertificateAuthority;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import javax.net.ssl.SSLException;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Connection attempts that show the worker's TLS to PostgreSQL is verified, not only encrypted: one
 * trusting another root CA (a second CA generated with BouncyCastle, as the JDBC adapter's tests
 * do) and one to an address the server's certificate does not name. The demo's PostgreSQL also
 * listens on {@value #OTHER_LOOPBACK} (still loopback), an address its certificate (for localhost,
 * 127.0.0.1 and ::1) does not name.
 */
final class DemoTls {
  /** A second loopback address the server listens on, absent from its certificate. */
  static final String OTHER_LOOPBACK = "127.0.0.2";

  /** The outcome of one connection attempt. */
  record Attempt(boolean connected, String sqlState, boolean handshakeFailed, String error) {
    @Override
    public String toString() {
      return connected
          ? "connected"
          : "refused, SQLState " + sqlState + (handshakeFailed ? ", TLS handshake" : "") + error;
    }
  }

  private DemoTls() {}

  /** Opens and closes one connection; what happened. */
  static Attempt attempt(DataSource ds) {
    try (Connection c = ds.getConnection()) {
      c.isValid(5);
      return new Attempt(true, null, false, "");
    } catch (SQLException e) {
      boolean handshake = false;
      String detail = "";
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof SSLException) {
          handshake = true;
          detail = ": " + t.getClass().getSimpleName();
        }
      }
      return new Attempt(false, e.getSQLState(), handshake, detail);
    }
  }

  private static PGSimpleDataSource pg(TlsPostgres server, String url) {
    PGSimpleDataSource pg = new PGSimpleDataSource();
    pg.setUrl(url);
    pg.setUser(server.user());
    pg.setConnectTimeout(10);
    pg.setLoginTimeout(10);
    return pg;
  }

  /** verify-full through TlsEnforcingDataSource, trusting only {@code caFile}, to {@code host}. */
  static DataSource verifyFull(TlsPostgres server, String host, Path caFile) {
    return TlsEnforcingDataSource.requireVerifyFull(
        pg(server, url(server, host, "verify-full", caFile)));
  }

  /** Plain pgjdbc with verify-ca: the chain is checked, the host name is not. */
  static DataSource verifyCaOnly(TlsPostgres server, String host, Path caFile) {
    return pg(server, url(server, host, "verify-ca", caFile));
  }

  static String url(TlsPostgres server, String host, String sslmode, Path caFile) {
    return "jdbc:postgresql://"
        + host
        + ":"
        + server.port()
        + "/postgres?sslmode="
        + sslmode
        + "&sslrootcert="
        + URLEncoder.encode(caFile.toString(), StandardCharsets.UTF_8);
  }

  /** Writes the certificate of a new, unrelated root CA to a temporary file. */
  static Path otherRootCa(Path dir) {
    try {
      Path file = Files.createTempFile(dir, "other-root-ca-", ".pem");
      TestCertificateAuthority.create("some other root CA").writeCertificatePem(file);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
