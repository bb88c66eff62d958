package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.postgres.TestCertificateAuthority;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.ds.PGSimpleDataSource;

/** Data sources and sessions of the shared TLS PostgreSQL, for the TLS enforcement tests. */
final class TlsSessions {
  private TlsSessions() {}

  /** pgjdbc's own DataSource with the URL as given, as the shared server's user. */
  static PGSimpleDataSource pgWithUrl(String url) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(url);
    ds.setUser(JdbcTestEnvironment.postgres().user());
    return ds;
  }

  /**
   * A verify-full URL of the shared server whose root certificate is a new CA's (named so), written
   * into the directory: the server's certificate is not from it.
   */
  static String verifyFullUrlWithAnotherRoot(Path dir, String caName) throws Exception {
    Path otherCa = dir.resolve("other-ca.pem");
    TestCertificateAuthority.create(caName).writeCertificatePem(otherCa);
    return JdbcTestEnvironment.postgres().jdbcUrlWithoutTls("postgres")
        + "?sslmode=verify-full&sslrootcert="
        + URLEncoder.encode(otherCa.toString(), StandardCharsets.UTF_8);
  }

  /** Whether the connection's session is TLS, as the server itself reports. */
  static boolean sessionIsTls(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
      assertTrue(rs.next());
      return rs.getBoolean(1);
    }
  }
}
