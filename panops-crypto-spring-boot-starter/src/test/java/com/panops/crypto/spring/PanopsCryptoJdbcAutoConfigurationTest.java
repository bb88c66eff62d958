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
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.ContextConsumer;
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

  /** Asserts that the context failed to start, its failure naming every one of the fragments. */
  private static ContextConsumer<AssertableApplicationContext> startFailsNaming(
      String... fragments) {
    return ctx -> {
      assertThat(ctx).hasFailed();
      for (String fragment : fragments) {
        assertThat(ctx.getStartupFailure()).hasStackTraceContaining(fragment);
      }
    };
  }

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
            startFailsNaming(
                "could not open a verified connection at start-up",
                "SQLState " + SqlStates.INSECURE_TRANSPORT));
  }

  @Test
  void tlsSettingsGivenAsPoolPropertiesAreJudgedToo() {
    runner
        .withPropertyValues(
            "spring.datasource.url=" + VERIFY_FULL,
            "spring.datasource.hikari.data-source-properties.sslfactory="
                + "org.postgresql.ssl.NonValidatingFactory",
            "panops.crypto.jdbc.require-verify-full=true")
        .run(startFailsNaming("SQLState " + SqlStates.INSECURE_TRANSPORT));
  }

  @Test
  void aDataSourceThatCannotBeChecked_failsTheStart() {
    runner
        .withBean(DataSource.class, SimpleDriverDataSource::new)
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(startFailsNaming("cannot be verified", "SimpleDriverDataSource"));
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
        .run(startFailsNaming("not a TlsEnforcingDataSource"));
  }

  @Test
  void aNonPostgresUrl_failsTheStart() {
    runner
        .withPropertyValues(
            "spring.datasource.url=jdbc:h2:mem:x",
            "spring.datasource.driver-class-name=org.postgresql.Driver",
            "panops.crypto.jdbc.require-verify-full=true")
        .run(startFailsNaming("not a jdbc:postgresql: URL"));
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
            startFailsNaming(
                "panops.crypto.jdbc.require-verify-full=true",
                "com.panops.crypto:panops-crypto-jdbc",
                "refused rather than connecting unchecked"));
  }

  @Test
  void withoutPgjdbc_theSettingFailsTheStart_namingTheDependencyToAdd() {
    runner
        .withClassLoader(new FilteredClassLoader(org.postgresql.ds.PGSimpleDataSource.class))
        .withBean(DataSource.class, SimpleDriverDataSource::new)
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(startFailsNaming("org.postgresql:postgresql"));
  }

  @Test
  void withoutHikari_anotherPool_failsTheStart_namingHikari() {
    runner
        .withClassLoader(new FilteredClassLoader(HikariDataSource.class))
        .withBean(DataSource.class, SimpleDriverDataSource::new)
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(
            startFailsNaming(
                "SimpleDriverDataSource",
                "HikariCP is not on the class path",
                "com.zaxxer:HikariCP"));
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
        .run(startFailsNaming("panops.crypto.jdbc.require-verify-full"));
  }

  @Test
  void withTheSettingOff_nothingIsNeeded_andNothingIsChecked() {
    runner
        .withClassLoader(new FilteredClassLoader(TlsEnforcingDataSource.class))
        .withPropertyValues("spring.datasource.url=" + VERIFY_FULL)
        .run(ctx -> assertThat(ctx).hasNotFailed());
  }

  // ---------------------------------------------------------------- nothing escapes the check

  /** A post-processor of the application's that needs the DataSource, so makes it early. */
  @org.springframework.context.annotation.Configuration(proxyBeanMethods = false)
  static class EarlyDataSource {
    @org.springframework.context.annotation.Bean
    static org.springframework.beans.factory.config.BeanPostProcessor early(DataSource ds) {
      return new org.springframework.beans.factory.config.BeanPostProcessor() {};
    }
  }

  /**
   * A pool of the application's own, needed by a post-processor ordered first: it is made before
   * the check is registered, whatever the check's order (only the sweep after start-up sees it).
   */
  abstract static class EarlyPoolPriority {
    static final class First
        implements org.springframework.beans.factory.config.BeanPostProcessor,
            org.springframework.core.PriorityOrdered {
      @Override
      public int getOrder() {
        return org.springframework.core.Ordered.HIGHEST_PRECEDENCE;
      }
    }

    @org.springframework.context.annotation.Bean
    static First earlyFirst(DataSource ds) {
      return new First();
    }

    static HikariDataSource pool(String url) {
      HikariDataSource pool = new HikariDataSource();
      pool.setJdbcUrl(url);
      pool.setUsername("app");
      return pool;
    }
  }

  @org.springframework.context.annotation.Configuration(proxyBeanMethods = false)
  static class EarlyWeakPool extends EarlyPoolPriority {
    @org.springframework.context.annotation.Bean
    static HikariDataSource dataSource() {
      return pool("jdbc:postgresql://localhost:1/app?sslmode=disable");
    }
  }

  @org.springframework.context.annotation.Configuration(proxyBeanMethods = false)
  static class EarlyVerifyFullPool extends EarlyPoolPriority {
    @org.springframework.context.annotation.Bean
    static HikariDataSource dataSource() {
      return pool(VERIFY_FULL);
    }
  }

  @Test
  void aDataSourceMadeEarlyByAnotherPostProcessor_isCheckedAllTheSame() {
    runner
        .withUserConfiguration(EarlyDataSource.class)
        .withPropertyValues(
            "spring.datasource.url=jdbc:postgresql://localhost:1/app?sslmode=disable",
            "panops.crypto.jdbc.require-verify-full=true")
        .run(startFailsNaming("sslmode=disable does not verify"));
    runner
        .withUserConfiguration(EarlyDataSource.class)
        .withPropertyValues(
            "spring.datasource.url=" + VERIFY_FULL,
            "panops.crypto.jdbc.require-verify-full=true",
            "panops.crypto.jdbc.verify-on-startup=false")
        .run(
            ctx ->
                assertThat(((HikariDataSource) ctx.getBean(DataSource.class)).getDataSource())
                    .isInstanceOf(TlsEnforcingDataSource.class));
  }

  /** A DataSource from a FactoryBean, its product made early by a post-processor ordered first. */
  @org.springframework.context.annotation.Configuration(proxyBeanMethods = false)
  static class EarlyFactoryProduct {
    static final class WeakPoolFactory
        implements org.springframework.beans.factory.FactoryBean<DataSource> {
      @Override
      public DataSource getObject() {
        return EarlyPoolPriority.pool("jdbc:postgresql://localhost:1/app?sslmode=disable");
      }

      @Override
      public Class<?> getObjectType() {
        return DataSource.class;
      }
    }

    @org.springframework.context.annotation.Bean
    static WeakPoolFactory dataSource() {
      return new WeakPoolFactory();
    }

    @org.springframework.context.annotation.Bean
    static EarlyPoolPriority.First earlyFirst(DataSource ds) {
      return new EarlyPoolPriority.First();
    }
  }

  @Test
  void aFactoryBeansProductMadeBeforeTheCheck_isCaughtByTheSweep() {
    runner
        .withUserConfiguration(EarlyFactoryProduct.class)
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(startFailsNaming("sslmode=disable does not verify"));
  }

  @Test
  void theGuard_leavesAContextWithoutDataSourcesAlone() {
    new ApplicationContextRunner()
        .withInitializer(new PanopsCryptoTlsGuard())
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(ctx -> assertThat(ctx).as("a parent or bootstrap context").hasNotFailed());
  }

  @Test
  void aPoolMadeBeforeTheCheckWasRegistered_isCaughtByTheSweepAfterStartUp() {
    runner
        .withUserConfiguration(EarlyWeakPool.class)
        .withPropertyValues("panops.crypto.jdbc.require-verify-full=true")
        .run(startFailsNaming("sslmode=disable does not verify"));
    runner
        .withUserConfiguration(EarlyVerifyFullPool.class)
        .withPropertyValues(
            "panops.crypto.jdbc.require-verify-full=true",
            "panops.crypto.jdbc.verify-on-startup=false")
        .run(
            ctx ->
                assertThat(((HikariDataSource) ctx.getBean(DataSource.class)).getDataSource())
                    .as("the check put under the early pool")
                    .isInstanceOf(TlsEnforcingDataSource.class));
  }

  @Test
  void connectionsSpringBootMakesOutsideADataSourceBean_failTheStart() {
    for (String own : PanopsCryptoJdbcAutoConfiguration.OWN_CONNECTIONS) {
      runner
          .withPropertyValues(
              "spring.datasource.url=" + VERIFY_FULL,
              own + "=jdbc:postgresql://localhost:1/app?sslmode=disable",
              "panops.crypto.jdbc.require-verify-full=true",
              "panops.crypto.jdbc.verify-on-startup=false")
          .run(startFailsNaming(own + " is set", "outside any DataSource bean"));
    }
  }

  @Test
  void theCheckExcluded_withTheSettingOn_failsTheStart() {
    ApplicationContextRunner withoutTheCheck =
        new ApplicationContextRunner()
            .withInitializer(new PanopsCryptoTlsGuard())
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class));
    withoutTheCheck
        .withPropertyValues(
            "spring.datasource.url=jdbc:postgresql://localhost:1/app?sslmode=disable",
            "panops.crypto.jdbc.require-verify-full=true")
        .run(startFailsNaming("the starter's TLS check is not registered"));
    withoutTheCheck
        .withPropertyValues("spring.datasource.url=" + VERIFY_FULL)
        .run(ctx -> assertThat(ctx).hasNotFailed());
    runner
        .withInitializer(new PanopsCryptoTlsGuard())
        .withPropertyValues(
            "spring.datasource.url=" + VERIFY_FULL,
            "panops.crypto.jdbc.require-verify-full=true",
            "panops.crypto.jdbc.verify-on-startup=false")
        .run(ctx -> assertThat(ctx).hasNotFailed());
  }

  @Test
  void theGuardIsRegisteredForEverySpringApplication() throws Exception {
    java.util.List<String> initializers =
        org.springframework.core.io.support.SpringFactoriesLoader.forDefaultResourceLocation()
            .load(org.springframework.context.ApplicationContextInitializer.class)
            .stream()
            .map(i -> i.getClass().getName())
            .toList();
    assertThat(initializers).contains(PanopsCryptoTlsGuard.class.getName());
  }
}
