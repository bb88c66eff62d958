package com.panops.crypto.spring;

import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.zaxxer.hikari.HikariDataSource;
import org.postgresql.ds.PGSimpleDataSource;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * With {@code panops.crypto.jdbc.require-verify-full=true}: every {@code DataSource} bean must be
 * checked by {@link TlsEnforcingDataSource} on its physical connections, never around the pool (see
 * {@link TlsUnderPoolPostProcessor}).
 */
@AutoConfiguration
@ConditionalOnClass({
  TlsEnforcingDataSource.class,
  PGSimpleDataSource.class,
  HikariDataSource.class
})
@ConditionalOnProperty(
    prefix = "panops.crypto.jdbc",
    name = "require-verify-full",
    havingValue = "true")
public class PanopsCryptoJdbcAutoConfiguration {

  @Bean
  static TlsUnderPoolPostProcessor panopsTlsUnderPoolPostProcessor(Environment env) {
    return new TlsUnderPoolPostProcessor(
        env.getProperty("panops.crypto.jdbc.verify-on-startup", Boolean.class, Boolean.TRUE));
  }
}
