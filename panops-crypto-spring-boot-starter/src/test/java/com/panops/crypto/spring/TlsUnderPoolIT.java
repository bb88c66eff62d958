package com.panops.crypto.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.testkit.postgres.TestCertificateAuthority;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import com.zaxxer.hikari.HikariDataSource;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * TLS under Spring Boot's HikariCP pool against PostgreSQL 16 with TLS: a verified session at
 * start-up and through the pool, and a server certificate that does not verify failing the start.
 */
class TlsUnderPoolIT {
  private final TlsPostgres pg = TestServers.get().postgres;
  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  DataSourceAutoConfiguration.class, PanopsCryptoJdbcAutoConfiguration.class))
          .withPropertyValues(
              "spring.datasource.username=" + pg.user(),
              "panops.crypto.jdbc.require-verify-full=true");

  private static boolean tlsSession(DataSource ds) throws Exception {
    try (Connection c = ds.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")) {
      assertTrue(rs.next());
      return rs.getBoolean(1);
    }
  }

  @Test
  void aVerifyFullUrl_startsAndThePoolsSessionsAreTls() {
    runner
        .withPropertyValues("spring.datasource.url=" + pg.jdbcUrl("postgres"))
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              HikariDataSource pool = (HikariDataSource) ctx.getBean(DataSource.class);
              assertThat(pool.getDataSource()).isInstanceOf(TlsEnforcingDataSource.class);
              assertTrue(tlsSession(pool));
            });
  }

  @Test
  void aServerCertificateThatDoesNotVerify_failsTheStart(@TempDir Path dir) throws Exception {
    Path otherCa = dir.resolve("other-ca.pem");
    TestCertificateAuthority.create("a root the server's certificate is not from")
        .writeCertificatePem(otherCa);
    String url =
        pg.jdbcUrlWithoutTls("postgres")
            + "?sslmode=verify-full&sslrootcert="
            + URLEncoder.encode(otherCa.toString(), StandardCharsets.UTF_8);
    runner
        .withPropertyValues("spring.datasource.url=" + url)
        .run(
            ctx -> {
              assertThat(ctx).hasFailed();
              assertThat(ctx.getStartupFailure())
                  .hasStackTraceContaining("could not open a verified connection at start-up");
            });
  }

  @Test
  void withVerifyOnStartupOff_theUnverifiableServerIsRefusedAtTheFirstConnection(@TempDir Path dir)
      throws Exception {
    Path otherCa = dir.resolve("other-ca.pem");
    TestCertificateAuthority.create("another root").writeCertificatePem(otherCa);
    String url =
        pg.jdbcUrlWithoutTls("postgres")
            + "?sslmode=verify-full&sslrootcert="
            + URLEncoder.encode(otherCa.toString(), StandardCharsets.UTF_8);
    runner
        .withPropertyValues(
            "spring.datasource.url=" + url,
            "spring.datasource.hikari.connection-timeout=1000",
            "panops.crypto.jdbc.verify-on-startup=false")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              DataSource ds = ctx.getBean(DataSource.class);
              Exception e =
                  org.junit.jupiter.api.Assertions.assertThrows(
                      Exception.class, () -> ds.getConnection().close());
              assertThat(e).isNotNull();
            });
  }

  @Test
  void anApplicationPoolOverTheCheck_isAccepted() {
    runner
        .withBean(
            DataSource.class,
            () -> {
              PGSimpleDataSource physical = new PGSimpleDataSource();
              physical.setUrl(pg.jdbcUrl("postgres"));
              physical.setUser(pg.user());
              HikariDataSource pool = new HikariDataSource();
              pool.setDataSource(TlsEnforcingDataSource.requireVerifyFull(physical));
              pool.setMaximumPoolSize(2);
              return pool;
            })
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              assertEquals(true, tlsSession(ctx.getBean(DataSource.class)));
            });
  }
}
