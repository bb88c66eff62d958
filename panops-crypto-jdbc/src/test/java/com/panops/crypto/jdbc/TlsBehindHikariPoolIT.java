package com.panops.crypto.jdbc;

import static com.panops.crypto.jdbc.TlsSessions.pgWithUrl;
import static com.panops.crypto.jdbc.TlsSessions.sessionIsTls;
import static com.panops.crypto.jdbc.TlsSessions.verifyFullUrlWithAnotherRoot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.postgres.TlsPostgres;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * {@link TlsEnforcingDataSource} with a real HikariCP pool: the wrapper is the pool's {@code
 * dataSource}, and TLS settings given as properties (not in the URL) are judged too.
 *
 * <p>The "untrusted CA" URLs point {@code sslrootcert} at a root that did not sign the server's
 * certificate, so a session that connects with them has not verified the server: that is how each
 * test proves a bypass is real before showing that the wrapper refuses it.
 */
class TlsBehindHikariPoolIT {
  private static final String NON_VALIDATING = "org.postgresql.ssl.NonValidatingFactory";
  private static TlsPostgres pg;

  @BeforeAll
  static void start() {
    pg = JdbcTestEnvironment.postgres();
  }

  private static String untrustedCaUrl(Path dir) throws Exception {
    return verifyFullUrlWithAnotherRoot(dir, "a root the server's certificate is not from");
  }

  private static HikariConfig pool(String name) {
    HikariConfig cfg = new HikariConfig();
    cfg.setPoolName(name);
    cfg.setMaximumPoolSize(2);
    cfg.setConnectionTimeout(2_000);
    return cfg;
  }

  private static SQLException adapterRefusal(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SQLException
          && SqlStates.INSECURE_TRANSPORT.equals(((SQLException) c).getSQLState())) {
        return (SQLException) c;
      }
    }
    throw new AssertionError("expected a refusal by TlsEnforcingDataSource", t);
  }

  @Test
  void theWrapperAsThePoolsDataSource_handsOutVerifiedTlsSessions() throws SQLException {
    HikariConfig cfg = pool("verified");
    cfg.setDataSource(TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(pg.jdbcUrl("postgres"))));
    try (HikariDataSource ds = new HikariDataSource(cfg)) {
      for (int i = 0; i < 4; i++) {
        try (Connection c = ds.getConnection()) {
          assertTrue(sessionIsTls(c));
        }
      }
    }
  }

  @Test
  void sslfactoryGivenAsADataSourceProperty_isRefusedBehindThePool(@TempDir Path dir)
      throws Exception {
    String url = untrustedCaUrl(dir);
    // the bypass is real: with the property, pgjdbc connects although the CA is not trusted
    PGSimpleDataSource bypassed = pgWithUrl(url);
    bypassed.setProperty("sslfactory", NON_VALIDATING);
    try (Connection c = bypassed.getConnection()) {
      assertTrue(sessionIsTls(c), "connected over TLS without verifying the server");
    }
    assertTrue(bypassed.getUrl().contains("sslfactory="), "the wrapper reads the property too");

    HikariConfig cfg = pool("property-bypass");
    cfg.setDataSource(TlsEnforcingDataSource.requireVerifyFull(bypassed));
    RuntimeException e = assertThrows(RuntimeException.class, () -> new HikariDataSource(cfg));
    assertTrue(adapterRefusal(e).getMessage().contains("sslfactory=" + NON_VALIDATING));

    // and without the property the handshake itself fails: the wrapper never weakened anything
    HikariConfig plain = pool("untrusted-ca");
    plain.setDataSource(TlsEnforcingDataSource.requireVerifyFull(pgWithUrl(url)));
    plain.setInitializationFailTimeout(-1);
    try (HikariDataSource ds = new HikariDataSource(plain)) {
      assertThrows(SQLException.class, ds::getConnection);
    }
  }

  @Test
  void aPoolGivenDriverPropertiesThatDisableVerification_cannotBeWrapped(@TempDir Path dir)
      throws Exception {
    // HikariCP with jdbcUrl + addDataSourceProperty: pgjdbc gets sslfactory as a driver property,
    // which the connection's URL does not show
    HikariConfig cfg = pool("driver-properties");
    cfg.setJdbcUrl(untrustedCaUrl(dir));
    cfg.setUsername(pg.user());
    cfg.addDataSourceProperty("sslfactory", NON_VALIDATING);
    try (HikariDataSource hikari = new HikariDataSource(cfg)) {
      try (Connection c = hikari.getConnection()) {
        assertTrue(sessionIsTls(c), "the pool's own session is unverified TLS");
        assertTrue(c.getMetaData().getURL().contains("sslmode=verify-full"));
      }
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> TlsEnforcingDataSource.requireVerifyFull(hikari));
      assertTrue(e.getMessage().contains("never wrap the pool"), e.getMessage());
    }
  }

  @Test
  void aRefusedConnectionNeverReachesThePool_andAFixedSettingRecovers() throws SQLException {
    PGSimpleDataSource weak = pgWithUrl(pg.jdbcUrlWithoutTls("postgres") + "?sslmode=require");
    HikariConfig cfg = pool("recovers");
    cfg.setConnectionTimeout(10_000); // the pool retries creation with a back-off of a few seconds
    cfg.setInitializationFailTimeout(-1);
    DataSource checked = TlsEnforcingDataSource.requireVerifyFull(weak);
    cfg.setDataSource(checked);
    try (HikariDataSource ds = new HikariDataSource(cfg)) {
      SQLException e = assertThrows(SQLException.class, ds::getConnection);
      assertEquals(
          SqlStates.INSECURE_TRANSPORT, adapterRefusal(e).getSQLState(), "refused, not timed out");
      assertEquals(0, ds.getHikariPoolMXBean().getTotalConnections());
      weak.setSslMode("verify-full"); // the operator fixes the setting
      weak.setSslRootCert(pg.caCertificateFile().toString());
      try (Connection c = ds.getConnection()) {
        assertTrue(sessionIsTls(c));
      }
    }
  }
}
