package com.panops.crypto.spring;

import java.util.ArrayList;
import java.util.List;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.util.ClassUtils;

/**
 * With {@code panops.crypto.jdbc.require-verify-full=true}: every {@code DataSource} bean must be
 * checked by {@code TlsEnforcingDataSource} on its physical connections, never around the pool (see
 * {@link TlsUnderPoolPostProcessor}).
 *
 * <p>Design: fail closed whatever is on the class path. This configuration has no class conditions,
 * and the property is bound strictly (a value that is not a boolean fails the start): a security
 * setting that silently did nothing because a jar was missing, or because of a typo, would connect
 * without verified TLS. When the setting is on and {@code panops-crypto-jdbc} or pgjdbc is missing,
 * the start fails naming the dependency to add; without HikariCP only {@code
 * TlsEnforcingDataSource} beans are accepted, and any other {@code DataSource} fails the start,
 * naming HikariCP. Classes of optional dependencies are looked up by name on the context's class
 * loader and touched only once present.
 */
@AutoConfiguration
public class PanopsCryptoJdbcAutoConfiguration {
  static final String REQUIRE = "panops.crypto.jdbc.require-verify-full";
  static final String VERIFY_ON_STARTUP = "panops.crypto.jdbc.verify-on-startup";

  static final String TLS_CLASS = "com.panops.crypto.jdbc.TlsEnforcingDataSource";
  static final String PGJDBC_CLASS = "org.postgresql.ds.PGSimpleDataSource";
  static final String HIKARI_CLASS = "com.zaxxer.hikari.HikariDataSource";

  /**
   * Settings with which Spring Boot opens database connections of its own, outside any DataSource
   * bean (Flyway's and Liquibase's own DataSource, R2DBC): refused while the check is required.
   */
  static final List<String> OWN_CONNECTIONS =
      List.of("spring.flyway.url", "spring.liquibase.url", "spring.r2dbc.url");

  /** The bean name of the check; {@link PanopsCryptoTlsGuard} looks for it. */
  static final String BEAN_NAME = "panopsTlsUnderPoolPostProcessor";

  /** A post-processor that changes nothing: the setting is off. */
  private static final BeanPostProcessor OFF = new BeanPostProcessor() {};

  @Bean
  static BeanPostProcessor panopsTlsUnderPoolPostProcessor(
      Environment env, ConfigurableListableBeanFactory beanFactory) {
    Binder binder = Binder.get(env);
    boolean required = binder.bind(REQUIRE, Boolean.class).orElse(Boolean.FALSE);
    boolean verifyOnStartup = binder.bind(VERIFY_ON_STARTUP, Boolean.class).orElse(Boolean.TRUE);
    if (!required) {
      return OFF;
    }
    for (String own : OWN_CONNECTIONS) {
      if (binder.bind(own, String.class).isBound()) {
        throw new PanopsCryptoStartupException(
            REQUIRE
                + "=true, but "
                + own
                + " is set: that connection is made outside any DataSource bean, where the check"
                + " cannot see it.",
            "Remove "
                + own
                + " so that it uses the application's DataSource (which is checked), or remove "
                + REQUIRE
                + ".",
            null);
      }
    }
    ClassLoader cl = beanFactory.getBeanClassLoader();
    List<String> missing = new ArrayList<>();
    if (!ClassUtils.isPresent(TLS_CLASS, cl)) {
      missing.add("com.panops.crypto:panops-crypto-jdbc (the check itself)");
    }
    if (!ClassUtils.isPresent(PGJDBC_CLASS, cl)) {
      missing.add("org.postgresql:postgresql (pgjdbc, whose settings the check reads)");
    }
    if (!missing.isEmpty()) {
      throw new PanopsCryptoStartupException(
          REQUIRE
              + "=true, but the class path lacks "
              + String.join(" and ", missing)
              + ". Without it nothing checks the TLS of the database connections, so the start is"
              + " refused rather than connecting unchecked.",
          "Add "
              + (missing.size() == 1 ? "it" : "them")
              + " to the application's dependencies (panops-crypto-jdbc's version comes from the"
              + " panops-crypto BOM, pgjdbc's from Spring Boot's), or remove "
              + REQUIRE
              + " if the application opens no database connection.",
          null);
    }
    return new TlsUnderPoolPostProcessor(verifyOnStartup, ClassUtils.isPresent(HIKARI_CLASS, cl));
  }
}
