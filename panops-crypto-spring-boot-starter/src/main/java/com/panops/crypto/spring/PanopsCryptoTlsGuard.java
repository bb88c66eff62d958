package com.panops.crypto.spring;

import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Fails the start when {@code panops.crypto.jdbc.require-verify-full=true} but the starter's TLS
 * check is not registered: {@link PanopsCryptoJdbcAutoConfiguration} excluded ({@code
 * spring.autoconfigure.exclude}, {@code @SpringBootApplication(exclude = ...)}) or
 * auto-configuration not used at all. Registered in {@code META-INF/spring.factories} as an
 * initializer, which an exclusion does not remove: a security setting must not be switched off by
 * leaving out the code that enforces it.
 */
public final class PanopsCryptoTlsGuard
    implements ApplicationContextInitializer<ConfigurableApplicationContext> {

  @Override
  public void initialize(ConfigurableApplicationContext ctx) {
    // a plain (not registry) post-processor: it runs after every configuration, auto-configuration
    // included, has registered its bean definitions
    ctx.addBeanFactoryPostProcessor(
        (BeanFactoryPostProcessor)
            bf -> {
              boolean required =
                  Binder.get(ctx.getEnvironment())
                      .bind(PanopsCryptoJdbcAutoConfiguration.REQUIRE, Boolean.class)
                      .orElse(Boolean.FALSE);
              // only a context that has DataSource beans needs the check (a parent or bootstrap
              // context without auto-configuration and without a database has nothing to check)
              if (required
                  && !bf.containsBeanDefinition(PanopsCryptoJdbcAutoConfiguration.BEAN_NAME)
                  && bf.getBeanNamesForType(javax.sql.DataSource.class, true, false).length > 0) {
                throw new PanopsCryptoStartupException(
                    PanopsCryptoJdbcAutoConfiguration.REQUIRE
                        + "=true, but the starter's TLS check is not registered"
                        + " (PanopsCryptoJdbcAutoConfiguration excluded, or auto-configuration not"
                        + " in use): no database connection would be checked.",
                    "Do not exclude com.panops.crypto.spring.PanopsCryptoJdbcAutoConfiguration (or"
                        + " enable auto-configuration), or remove "
                        + PanopsCryptoJdbcAutoConfiguration.REQUIRE
                        + ".",
                    null);
              }
            });
  }
}
