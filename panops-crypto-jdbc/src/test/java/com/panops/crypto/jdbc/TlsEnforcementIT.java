package com.panops.crypto.jdbc;

import static com.panops.crypto.jdbc.TlsSessions.pgWithUrl;
import static com.panops.crypto.jdbc.TlsSessions.sessionIsTls;
import static com.panops.crypto.jdbc.TlsSessions.verifyFullUrlWithAnotherRoot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.postgres.TestCertificateAuthority;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.Statement;
import java.util.logging.Logger;
import javax.net.ssl.SSLHandshakeException;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;
import org.postgresql.ds.common.BaseDataSource;

class TlsEnforcementIT {
  private static TlsPostgres pg;

  @BeforeAll
  static void start() {
    pg = JdbcTestEnvironment.postgres();
  }

  private static String caParam() {
    return URLEncoder.encode(pg.caCertificateFile().toString(), StandardCharsets.UTF_8);
  }

  private static void assertRefusedByAdapter(SQLException e) {
    assertInstanceOf(SQLNonTransientConnectionException.class, e);
    assertEquals(SqlStates.INSECURE_TRANSPORT, e.getSQLState());
  }

  @Test
  void verifyFullWithTheServersRootCertificate_connectsOverTls() throws SQLException {
    DataSource ds = TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(pg.jdbcUrl("postgres")));
    try (Connection c = ds.getConnection()) {
      assertTrue(sessionIsTls(c));
    }
    try (Connection c = ds.getConnection(pg.user(), "")) {
      assertTrue(sessionIsTls(c));
    }
    try (Connection c = ds.createConnectionBuilder().user(pg.user()).build()) {
      assertTrue(sessionIsTls(c));
    }
  }

  @Test
  void gssEncryption_isRefusedInTheUrl_andEveryConnectionIsTlsNotGss() throws Exception {
    String url = pg.jdbcUrl("postgres");
    DataSource ds = TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(url));
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT g.encrypted, l.ssl FROM pg_stat_gssapi g JOIN pg_stat_ssl l"
                    + " ON l.pid = g.pid WHERE g.pid = pg_backend_pid()")) {
      assertTrue(rs.next());
      assertFalse(rs.getBoolean(1), "not GSSAPI-encrypted");
      assertTrue(rs.getBoolean(2), "TLS");
    }
    for (String mode : new String[] {"prefer", "require"}) {
      SQLException e =
          assertThrows(
              SQLException.class,
              () ->
                  TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(url + "&gssEncMode=" + mode))
                      .getConnection());
      assertRefusedByAdapter(e);
      assertTrue(e.getMessage().contains("gssEncMode=" + mode), e.getMessage());
    }
  }

  @Test
  void sslTrueAlone_meansVerifyFull_andConnects() throws SQLException {
    String url = pg.jdbcUrlWithoutTls("postgres") + "?ssl=true&sslrootcert=" + caParam();
    try (Connection c = TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(url)).getConnection()) {
      assertTrue(sessionIsTls(c));
    }
  }

  @Test
  void nonTlsUrl_isRefused_withoutOpeningAConnection() throws Exception {
    try (ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      listener.setSoTimeout(200);
      String base = "jdbc:postgresql://127.0.0.1:" + listener.getLocalPort() + "/postgres";
      for (String query :
          new String[] {"", "?sslmode=disable", "?sslmode=prefer", "?sslmode=allow"}) {
        SQLException e =
            assertThrows(
                SQLException.class,
                () ->
                    TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(base + query))
                        .getConnection());
        assertRefusedByAdapter(e);
      }
      assertThrows(SocketTimeoutException.class, listener::accept, "no socket was opened");
    }
  }

  @Test
  void tlsWithoutVerification_isRefused_requireAndVerifyCaAndANonValidatingFactory() {
    String base = pg.jdbcUrlWithoutTls("postgres");
    for (String query :
        new String[] {
          "?sslmode=require",
          "?sslmode=verify-ca&sslrootcert=" + caParam(),
          "?sslmode=verify-full&sslfactory=org.postgresql.ssl.NonValidatingFactory",
          "?sslmode=verify-full&sslrootcert="
              + caParam()
              + "&sslhostnameverifier=com.example.TrustingVerifier"
        }) {
      SQLException e =
          assertThrows(
              SQLException.class,
              () ->
                  TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(base + query)).getConnection(),
              query);
      assertRefusedByAdapter(e);
    }
  }

  @Test
  void wrongRootCertificate_isRefusedByTheTlsHandshake(@TempDir Path dir) throws Exception {
    String url = verifyFullUrlWithAnotherRoot(dir, "some other root");
    DataSource ds = TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(url));
    SQLException e = assertThrows(SQLException.class, ds::getConnection);
    assertTrue(hasCause(e, SSLHandshakeException.class), "expected a TLS handshake failure: " + e);
  }

  @Test
  void plaintextSession_isAlsoRefusedByTheServer_evenWithTheLocalOptIn() {
    DataSource ds =
        TlsEnforcingDataSource.allowInsecureLocalTestDatabase(
            pgWithUrl(pg.jdbcUrlWithoutTls("postgres") + "?sslmode=disable"));
    SQLException e = assertThrows(SQLException.class, ds::getConnection);
    assertEquals("28000", e.getSQLState(), e.getMessage()); // no pg_hba.conf entry: hostssl only
  }

  @Test
  void localOptIn_allowsUnverifiedTlsOnLoopback_butNotToARemoteHost() throws SQLException {
    DataSource local =
        TlsEnforcingDataSource.allowInsecureLocalTestDatabase(
            pgWithUrl(pg.jdbcUrlWithoutTls("postgres") + "?sslmode=require"));
    try (Connection c = local.getConnection()) {
      assertTrue(sessionIsTls(c));
    }
    DataSource remote =
        TlsEnforcingDataSource.allowInsecureLocalTestDatabase(
            pgWithUrl("jdbc:postgresql://db.example.invalid:5432/postgres?sslmode=require"));
    SQLException e = assertThrows(SQLException.class, remote::getConnection);
    assertRefusedByAdapter(e);
    assertTrue(e.getMessage().contains("db.example.invalid"), e.getMessage());
  }

  @Test
  void aDelegateWhoseSettingsCannotBeReadInFull_isRefusedWhenBuilt() {
    DataSource driverManager = new DriverManagerDataSource(pg.jdbcUrl("postgres"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TlsEnforcingDataSource.requireVerifyFull(driverManager));
    assertTrue(e.getMessage().contains("never wrap the pool"), e.getMessage());
    PGSimpleDataSource subclass = new PGSimpleDataSource() {};
    assertThrows(
        IllegalArgumentException.class,
        () -> TlsEnforcingDataSource.allowInsecureLocalTestDatabase(subclass));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            TlsEnforcingDataSource.requireVerifyFull(
                TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(pg.jdbcUrl("postgres")))));
  }

  @Test
  void unwrapAndIsWrapperFor_reachTheDelegate_andOtherCallsDelegate() throws SQLException {
    PGSimpleDataSource inner = pgWithUrl(pg.jdbcUrl("postgres"));
    TlsEnforcingDataSource ds = TlsEnforcingDataSource.requireVerifyFull(inner);
    assertTrue(ds.isWrapperFor(TlsEnforcingDataSource.class));
    assertTrue(ds.isWrapperFor(PGSimpleDataSource.class));
    assertTrue(ds.isWrapperFor(BaseDataSource.class));
    assertFalse(ds.isWrapperFor(String.class));
    assertSame(ds, ds.unwrap(TlsEnforcingDataSource.class));
    assertSame(inner, ds.unwrap(PGSimpleDataSource.class));
    assertThrows(SQLException.class, () -> ds.unwrap(String.class));
    ds.setLoginTimeout(7);
    assertEquals(7, inner.getLoginTimeout());
    assertEquals(7, ds.getLoginTimeout());
  }

  private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  /** A DataSource over DriverManager, as simple pools are: nothing pgjdbc-specific to unwrap. */
  static final class DriverManagerDataSource implements DataSource {
    private final String url;

    DriverManagerDataSource(String url) {
      this.url = url;
    }

    @Override
    public Connection getConnection() throws SQLException {
      return DriverManager.getConnection(url, pg.user(), "");
    }

    @Override
    public Connection getConnection(String u, String p) throws SQLException {
      return DriverManager.getConnection(url, u, p);
    }

    @Override
    public PrintWriter getLogWriter() {
      return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) {}

    @Override
    public void setLoginTimeout(int seconds) {}

    @Override
    public int getLoginTimeout() {
      return 0;
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
      throw new SQLFeatureNotSupportedException();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
      throw new SQLException("not a wrapper");
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
      return false;
    }
  }

  @Test
  void theTestCertificateAuthoritysKeyFile_isPkcs8(@TempDir Path dir) throws Exception {
    Path key = dir.resolve("k.pem");
    TestCertificateAuthority.create("x")
        .issueServerCertificate("localhost")
        .writePrivateKeyPem(key);
    assertTrue(Files.readString(key).startsWith("-----BEGIN PRIVATE KEY-----"));
    assertEquals(
        "rw-------",
        java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(key)));
  }
}
