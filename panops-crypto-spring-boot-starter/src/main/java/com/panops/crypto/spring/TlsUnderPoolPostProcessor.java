package com.panops.crypto.spring;

import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanCreationException;
import org.springframework.beans.factory.config.BeanPostProcessor;

/**
 * Puts {@link TlsEnforcingDataSource#requireVerifyFull} under each HikariCP pool, on the physical
 * PostgreSQL DataSource, and refuses every {@link DataSource} bean whose connections it cannot
 * check.
 *
 * <p>Design: the check must see each physical connection's complete settings before the handshake,
 * so it sits between the pool and pgjdbc, never around the pool (a check around the pool would run
 * after an unverified handshake had already sent the password). Spring Boot's own pool, built from
 * {@code spring.datasource.*}, is a {@link HikariDataSource} that has a JDBC URL and no {@code
 * dataSource} yet, and does not start until its first connection: this processor (after the
 * properties are bound) gives it a {@link PGSimpleDataSource} built from that URL and the pool's
 * data-source properties, wrapped in {@code TlsEnforcingDataSource}, as its {@code dataSource}. The
 * pool keeps its user name and password and passes them on each physical connection.
 *
 * <p>Accepted as they are: a {@code TlsEnforcingDataSource} bean, and a {@code HikariDataSource}
 * whose {@code dataSource} is one. Anything else (another pool, a pool over another DataSource, a
 * pool already running, a non-PostgreSQL URL, a wrapper of unknown behaviour) fails the context
 * start: fail closed.
 *
 * <p>With {@code verify-on-startup} (default), one physical connection per pool is opened through
 * the check (not through the pool) and closed during start-up, so settings that do not verify the
 * server, or a server whose certificate does not verify, fail the start rather than the first
 * request. A refusal by the check opens no socket.
 */
final class TlsUnderPoolPostProcessor implements BeanPostProcessor {
  private static final Logger log = LoggerFactory.getLogger(TlsUnderPoolPostProcessor.class);
  private static final String PROPERTY = "panops.crypto.jdbc.require-verify-full=true";

  private final boolean verifyOnStartup;

  TlsUnderPoolPostProcessor(boolean verifyOnStartup) {
    this.verifyOnStartup = verifyOnStartup;
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
    if (!(bean instanceof DataSource)) {
      return bean;
    }
    if (bean instanceof TlsEnforcingDataSource tls) {
      verify(beanName, tls, null, null);
      return bean;
    }
    if (!(bean instanceof HikariDataSource pool)) {
      throw refuse(
          beanName,
          "it is a "
              + bean.getClass().getName()
              + ", whose physical connections cannot be checked; use spring.datasource.* (HikariCP)"
              + " with a jdbc:postgresql: URL, or a HikariDataSource whose dataSource is"
              + " TlsEnforcingDataSource.requireVerifyFull(new PGSimpleDataSource())");
    }
    DataSource physical = pool.getDataSource();
    if (physical instanceof TlsEnforcingDataSource tls) {
      verify(beanName, tls, pool.getUsername(), pool.getPassword());
      return bean;
    }
    if (physical != null) {
      throw refuse(
          beanName,
          "the pool's dataSource is a "
              + physical.getClass().getName()
              + ", not a TlsEnforcingDataSource; wrap the physical PGSimpleDataSource with"
              + " TlsEnforcingDataSource.requireVerifyFull and give that to the pool");
    }
    if (pool.isRunning()) {
      throw refuse(beanName, "the pool is already running: its connections were not checked");
    }
    if (pool.getDataSourceClassName() != null || pool.getDataSourceJNDI() != null) {
      throw refuse(
          beanName,
          "the pool takes its connections from a dataSourceClassName or JNDI name, which cannot be"
              + " checked; configure a jdbc:postgresql: URL instead");
    }
    String url = pool.getJdbcUrl();
    if (url == null || !url.startsWith("jdbc:postgresql:")) {
      throw refuse(
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
    verify(beanName, tls, pool.getUsername(), pool.getPassword());
    return bean;
  }

  private static PGSimpleDataSource physical(String beanName, HikariDataSource pool) {
    PGSimpleDataSource pg = new PGSimpleDataSource();
    pg.setUrl(pool.getJdbcUrl());
    Properties props = pool.getDataSourceProperties();
    for (Map.Entry<Object, Object> e : props.entrySet()) {
      try {
        pg.setProperty(String.valueOf(e.getKey()), String.valueOf(e.getValue()));
      } catch (SQLException ex) {
        throw refuse(
            beanName,
            "its data-source property '"
                + e.getKey()
                + "' is unknown to pgjdbc: "
                + ex.getMessage());
      }
    }
    return pg;
  }

  private void verify(String beanName, TlsEnforcingDataSource tls, String user, String password) {
    if (!verifyOnStartup) {
      return;
    }
    try (Connection c = user == null ? tls.getConnection() : tls.getConnection(user, password)) {
      log.info("DataSource '{}': a verify-full connection was checked at start-up", beanName);
    } catch (SQLException e) {
      throw new BeanCreationException(
          beanName,
          PROPERTY
              + ": DataSource '"
              + beanName
              + "' could not open a verified connection at start-up (SQLState "
              + e.getSQLState()
              + "): "
              + e.getMessage()
              + " (panops.crypto.jdbc.verify-on-startup=false defers this check to the first"
              + " connection)",
          e);
    }
  }

  private static BeanCreationException refuse(String beanName, String why) {
    return new BeanCreationException(
        beanName, PROPERTY + ": DataSource '" + beanName + "' cannot be verified: " + why);
  }
}
