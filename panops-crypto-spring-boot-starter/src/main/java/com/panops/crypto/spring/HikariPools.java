package com.panops.crypto.spring;

import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HikariCP part of {@link TlsUnderPoolPostProcessor}: puts the check under a pool, or refuses
 * the bean. Loaded only when HikariCP is on the class path.
 */
final class HikariPools {
  private static final Logger log = LoggerFactory.getLogger(HikariPools.class);

  private HikariPools() {}

  /** The check a pool's physical connections go through, and the pool's credentials. */
  record Checked(TlsEnforcingDataSource tls, String user, String password) {}

  /**
   * For a {@code DataSource} bean that is not a {@code TlsEnforcingDataSource}: the check under it
   * if it is a HikariCP pool that can take one (put there now, if the pool was built from a URL).
   *
   * @throws PanopsCryptoStartupException otherwise
   */
  static Checked putCheckUnder(String beanName, Object bean) {
    if (!(bean instanceof HikariDataSource pool)) {
      throw TlsUnderPoolPostProcessor.refuse(
          beanName,
          "it is a "
              + bean.getClass().getName()
              + ", whose physical connections cannot be checked; use spring.datasource.* (HikariCP)"
              + " with a jdbc:postgresql: URL, or a HikariDataSource whose dataSource is"
              + " TlsEnforcingDataSource.requireVerifyFull(new PGSimpleDataSource())");
    }
    javax.sql.DataSource physical = pool.getDataSource();
    if (physical instanceof TlsEnforcingDataSource tls) {
      return new Checked(tls, pool.getUsername(), pool.getPassword());
    }
    if (physical != null) {
      throw TlsUnderPoolPostProcessor.refuse(
          beanName,
          "the pool's dataSource is a "
              + physical.getClass().getName()
              + ", not a TlsEnforcingDataSource; wrap the physical PGSimpleDataSource with"
              + " TlsEnforcingDataSource.requireVerifyFull and give that to the pool");
    }
    if (pool.isRunning()) {
      throw TlsUnderPoolPostProcessor.refuse(
          beanName, "the pool is already running: its connections were not checked");
    }
    if (pool.getDataSourceClassName() != null || pool.getDataSourceJNDI() != null) {
      throw TlsUnderPoolPostProcessor.refuse(
          beanName,
          "the pool takes its connections from a dataSourceClassName or JNDI name, which cannot be"
              + " checked; configure a jdbc:postgresql: URL instead");
    }
    String url = pool.getJdbcUrl();
    if (url == null || !url.startsWith("jdbc:postgresql:")) {
      throw TlsUnderPoolPostProcessor.refuse(
          beanName,
          "its JDBC URL is not a jdbc:postgresql: URL (only PostgreSQL connections can be"
              + " checked)");
    }
    TlsEnforcingDataSource tls = TlsEnforcingDataSource.requireVerifyFull(physical(beanName, pool));
    pool.setDataSource(tls);
    log.info(
        "DataSource '{}': TlsEnforcingDataSource (sslmode=verify-full) put under its HikariCP pool,"
            + " on the physical connections",
        beanName);
    return new Checked(tls, pool.getUsername(), pool.getPassword());
  }

  private static PGSimpleDataSource physical(String beanName, HikariDataSource pool) {
    PGSimpleDataSource pg = new PGSimpleDataSource();
    pg.setUrl(pool.getJdbcUrl());
    Properties props = pool.getDataSourceProperties();
    for (Map.Entry<Object, Object> e : props.entrySet()) {
      try {
        pg.setProperty(String.valueOf(e.getKey()), String.valueOf(e.getValue()));
      } catch (SQLException ex) {
        throw TlsUnderPoolPostProcessor.refuse(
            beanName,
            "its data-source property '"
                + e.getKey()
                + "' is unknown to pgjdbc: "
                + ex.getMessage());
      }
    }
    return pg;
  }
}
