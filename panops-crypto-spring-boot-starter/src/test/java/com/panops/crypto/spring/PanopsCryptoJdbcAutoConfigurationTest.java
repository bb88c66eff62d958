package com.panops.crypto.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.panops.crypto.jdbc.SqlStates;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.zaxxer.hikari.HikariDataSource;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

/**
 * TLS under the pool, in real contexts with Spring Boot's own DataSource auto-configuration. No
 * server: a refusal by the check opens no socket, and these URLs point at a closed loopback port.
 */
class PanopsCryptoJdbcAutoConfigurationTest {
  private static final String VERIFY_FULL =
      "jdbc:postgresql://localhost:1/app?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem";

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  DataSourceAutoConfiguration.class, PanopsCryptoJdbcAutoConfiguration.class));

  @Test
  void bootsOwnPool_getsTheCheckUnderItOnThePhysicalDataSource() {
    runner
        .withPropertyValues(
            "spring.datasource.url=" + VERIFY_FULL,
            "spring.datasource.username=app",
            "panops.crypto.jdbc.require-verify-full=true",
            "panops.crypto.jdbc.verify-on-startup=false")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              DataSource ds = ctx.getBean(DataSource.class);
              assertThat(ds).isInstanceOf(HikariDataSource.class);
              assertThat(((HikariDataSource) ds).getDataSource())
                  .isInstanceOf(TlsEnforcingDataSource.class);
            });
  }

  @Test
  void withVerifyOnStartupOff_eachOfThePoolsPhysicalConnectionsIsStillChecked() {
    runner
        .withPropertyValues(
            "spring.datasource.url=jdbc:postgresql://localhost:1/app?sslmode=require",
            "spring.datasource.hikari.connection-timeout=250",
            "panops.crypto.jdbc.require-verify-full=true",
            "panops.crypto.jdbc.verify-on-startup=false")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              DataSource pool = ctx.getBean(DataSource.class);
              Throwable t = catchThrowable(() -> pool.getConnection().close());
              assertThat(t).isNotNull();
              // refused by the check (no socket opened), not a failure to reach port 1
              assertThat(sqlStates(t)).contains(SqlStates.INSECURE_TRANSPORT);
            });
  }

  private static java.util.List<String> sqlStates(Throwable t) {
    java.util.List<String> states = new java.util.ArrayList<>();
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof java.sql.SQLException e) {
        states.add(e.getSQLState());
      }
    }
    return states;
  }

  @Test
  void withoutTheProperty_thePoolIsLeftAlone() {
    runner
        .withPropertyValues("spring.datasource.url=" + VERIFY_FULL)
        .run(
            ctx ->
                assertThat(((HikariDataSource) ctx.getBean(DataSource.class)).getDataSource())
                    .isNull());
  }

  @Test
  void aUrlThatDoesNotVerifyTheServer_failsTheStartWithoutConnecting() {
    runner
        .withPropertyValues(
            "spring.datasource.url=jdbc:postgresql://localhost:1/app?sslmode=require",
            "panops.crypto.jdbc.require-verify-full=true")
        .run(
            ctx -> {
              assertThat(ctx).hasFailed();
              assertThat(ctx.getStartupFailure())
                  .hasStackTraceContaining("could not open a verified connection at start-up")
                  .hasStackTraceContaining("SQLState " + SqlStates.INSECURE_TRANSPORT);
            });
  }

  @Test
  void tlsSettingsGivenAsPoolPropertiesAreJudgedToo() {
    runner
        .withPropertyValues(
            "spring.datasource.url=" + VERIFY_FULL,
            "spring.datasource.hikari.data-source-properties.sslfactory="
                + "org.postgresql.ssl.NonValidatingFactory",
            "panops.crypto.jdbc.require-verify-full=true")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("SQLState " + SqlStates.INSECURE_TRANSPORT));
  }

  @Test
  void aDataSourceThatCannotBeChecked_failsTheStart() {
    runner
        .withBean(DataSource.class, SimpleDriverDataSource::new)
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("cannot be verified")
                    .hasStackTraceContaining("SimpleDriverDataSource"));
  }

  @Test
  void aPoolOverAnotherDataSource_failsTheStart() {
    runner
        .withBean(
            DataSource.class,
            () -> {
              HikariDataSource pool = new HikariDataSource();
              pool.setDataSource(new SimpleDriverDataSource());
              return pool;
            })
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("not a TlsEnforcingDataSource"));
  }

  @Test
  void aNonPostgresUrl_failsTheStart() {
    runner
        .withPropertyValues(
            "spring.datasource.url=jdbc:h2:mem:x",
            "spring.datasource.driver-class-name=org.postgresql.Driver",
            "panops.crypto.jdbc.require-verify-full=true")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("not a jdbc:postgresql: URL"));
  }

  // ---------------------------------------------------------------- what the check needs

  @Test
  void withoutThePanopsJdbcModule_theSettingFailsTheStart_namingTheDependencyToAdd() {
    runner
        .withClassLoader(new FilteredClassLoader(TlsEnforcingDataSource.class))
        .withPropertyValues(
            "spring.datasource.url=jdbc:postgresql://localhost:1/app?sslmode=disable",
            "panops.crypto.jdbc.require-verify-full=true")
        .run(
            ctx -> {
              assertThat(ctx).hasFailed();
              assertThat(ctx.getStartupFailure())
                  .hasStackTraceContaining("panops.crypto.jdbc.require-verify-full=true")
                  .hasStackTraceContaining("com.panops.crypto:panops-crypto-jdbc")
                  .hasStackTraceContaining("refused rather than connecting unchecked");
            });
  }

  @Test
  void withoutPgjdbc_theSettingFailsTheStart_namingTheDependencyToAdd() {
    runner
        .withClassLoader(new FilteredClassLoader(org.postgresql.ds.PGSimpleDataSource.class))
        .withBean(DataSource.class, SimpleDriverDataSource::new)
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("org.postgresql:postgresql"));
  }

  @Test
  void withoutHikari_anotherPool_failsTheStart_namingHikari() {
    runner
        .withClassLoader(new FilteredClassLoader(HikariDataSource.class))
        .withBean(DataSource.class, SimpleDriverDataSource::new)
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("SimpleDriverDataSource")
                    .hasStackTraceContaining("HikariCP is not on the class path")
                    .hasStackTraceContaining("com.zaxxer:HikariCP"));
  }

  @Test
  void withoutHikari_aTlsEnforcingDataSourceBean_isAccepted() {
    runner
        .withClassLoader(new FilteredClassLoader(HikariDataSource.class))
        .withBean(
            DataSource.class,
            () -> {
              org.postgresql.ds.PGSimpleDataSource pg = new org.postgresql.ds.PGSimpleDataSource();
              pg.setUrl(VERIFY_FULL);
              return TlsEnforcingDataSource.requireVerifyFull(pg);
            })
        .withPropertyValues(
            "panops.crypto.jdbc.require-verify-full=true",
            "panops.crypto.jdbc.verify-on-startup=false")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              assertThat(ctx.getBean(DataSource.class)).isInstanceOf(TlsEnforcingDataSource.class);
            });
  }

  @Test
  void aValueThatIsNotABoolean_failsTheStart_ratherThanTurningTheCheckOff() {
    runner
        .withPropertyValues(
            "spring.datasource.url=jdbc:postgresql://localhost:1/app?sslmode=disable",
            "panops.crypto.jdbc.require-verify-full=ture")
        .run(
            ctx -> {
              assertThat(ctx).hasFailed();
              assertThat(ctx.getStartupFailure())
                  .hasStackTraceContaining("panops.crypto.jdbc.require-verify-full");
            });
  }

  @Test
  void withTheSettingOff_nothingIsNeeded_andNothingIsChecked() {
    runner
        .withClassLoader(new FilteredClassLoader(TlsEnforcingDataSource.class))
        .withPropertyValues("spring.datasource.url=" + VERIFY_FULL)
        .run(ctx -> assertThat(ctx).hasNotFailed());
  }
}
