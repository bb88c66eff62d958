package com.panops.crypto.spring;

import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.core.Ordered;
import org.springframework.core.PriorityOrdered;

/**
 * Puts {@link TlsEnforcingDataSource#requireVerifyFull} under each HikariCP pool, on the physical
 * PostgreSQL DataSource, and refuses every {@link DataSource} bean whose connections it cannot
 * check.
 *
 * <p>Design: the check must see each physical connection's complete settings before the handshake,
 * so it sits between the pool and pgjdbc, never around the pool (a check around the pool would run
 * after an unverified handshake had already sent the password). Spring Boot's own pool, built from
 * {@code spring.datasource.*}, is a {@code HikariDataSource} that has a JDBC URL and no {@code
 * dataSource} yet, and does not start until its first connection: this processor (after the
 * properties are bound) gives it a {@code PGSimpleDataSource} built from that URL and the pool's
 * data-source properties, wrapped in {@code TlsEnforcingDataSource}, as its {@code dataSource}. The
 * pool keeps its user name and password and passes them on each physical connection.
 *
 * <p>Accepted as they are: a {@code TlsEnforcingDataSource} bean, and a {@code HikariDataSource}
 * whose {@code dataSource} is one. Anything else (another pool, a pool over another DataSource, a
 * pool already running, a non-PostgreSQL URL, a wrapper of unknown behaviour) fails the context
 * start: fail closed.
 *
 * <p>Ordered first ({@link PriorityOrdered}), so it is registered before any other post-processor
 * that might make a {@code DataSource} early; and once every singleton exists it sweeps the {@code
 * DataSource} singletons it has not seen (made before it was registered, by a prioritised
 * post-processor that needs one, or registered as a ready instance) through the same rules, so no
 * DataSource bean escapes the check. Without HikariCP on the class path only a {@code
 * TlsEnforcingDataSource} bean is accepted; the HikariCP part is in {@link HikariPools}, loaded
 * only when HikariCP is present.
 *
 * <p>With {@code verify-on-startup} (default), one physical connection per pool is opened through
 * the check (not through the pool) and closed during start-up, so settings that do not verify the
 * server, or a server whose certificate does not verify, fail the start rather than the first
 * request. A refusal by the check opens no socket.
 */
final class TlsUnderPoolPostProcessor
    implements BeanPostProcessor, PriorityOrdered, SmartInitializingSingleton, BeanFactoryAware {
  static final String PROPERTY = "panops.crypto.jdbc.require-verify-full=true";

  private final boolean verifyOnStartup;
  private final boolean hikari;
  private final Set<Object> seen =
      Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
  private ConfigurableListableBeanFactory beanFactory;

  TlsUnderPoolPostProcessor(boolean verifyOnStartup, boolean hikariPresent) {
    this.verifyOnStartup = verifyOnStartup;
    this.hikari = hikariPresent;
  }

  @Override
  public int getOrder() {
    return Ordered.HIGHEST_PRECEDENCE;
  }

  @Override
  public void setBeanFactory(BeanFactory bf) {
    if (bf instanceof ConfigurableListableBeanFactory c) {
      this.beanFactory = c;
    }
  }

  /** The sweep: every DataSource singleton made without passing through this post-processor. */
  @Override
  public void afterSingletonsInstantiated() {
    if (beanFactory == null) {
      return;
    }
    for (String name : beanFactory.getBeanNamesForType(DataSource.class, true, false)) {
      Object bean = beanFactory.getSingleton(name);
      if (bean instanceof org.springframework.beans.factory.FactoryBean<?>) {
        // a FactoryBean's product (made already, possibly before this post-processor existed, so
        // never passed through it; or made now, and then through it)
        bean = beanFactory.getBean(name);
      }
      if (bean instanceof DataSource && !seen.contains(bean)) {
        log.info("DataSource '{}' was made before the TLS check was registered: checked now", name);
        postProcessAfterInitialization(bean, name);
      }
    }
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
    if (!(bean instanceof DataSource) || !seen.add(bean)) {
      return bean;
    }
    if (bean instanceof TlsEnforcingDataSource tls) {
      verify(beanName, tls, null, null);
      return bean;
    }
    if (!hikari) {
      throw refuse(
          beanName,
          "it is a "
              + bean.getClass().getName()
              + ", whose physical connections cannot be checked, and HikariCP is not on the class"
              + " path: add com.zaxxer:HikariCP (spring-boot-starter-jdbc brings it) and use"
              + " spring.datasource.* with a jdbc:postgresql: URL, or define the DataSource bean as"
              + " TlsEnforcingDataSource.requireVerifyFull(new PGSimpleDataSource())");
    }
    HikariPools.Checked checked = HikariPools.putCheckUnder(beanName, bean);
    verify(beanName, checked.tls(), checked.user(), checked.password());
    return bean;
  }

  void verify(String beanName, TlsEnforcingDataSource tls, String user, String password) {
    if (!verifyOnStartup) {
      return;
    }
    try (Connection c = user == null ? tls.getConnection() : tls.getConnection(user, password)) {
      log.info("DataSource '{}': a verify-full connection was checked at start-up", beanName);
    } catch (SQLException e) {
      throw new PanopsCryptoStartupException(
          PROPERTY
              + ": DataSource '"
              + beanName
              + "' could not open a verified connection at start-up (SQLState "
              + e.getSQLState()
              + "): "
              + e.getMessage(),
          "Connect with sslmode=verify-full and the server's CA (sslrootcert=...), without"
              + " sslfactory or sslhostnameverifier overrides, in spring.datasource.url or the"
              + " pool's data-source-properties; or set panops.crypto.jdbc.verify-on-startup=false"
              + " to defer this check to the first connection (every connection is still checked).",
          e);
    }
  }

  static PanopsCryptoStartupException refuse(String beanName, String why) {
    return new PanopsCryptoStartupException(
        PROPERTY + ": DataSource '" + beanName + "' cannot be verified: " + why + ".",
        "Give the check the physical connections: configure spring.datasource.* (HikariCP) with a"
            + " jdbc:postgresql: URL, or define the DataSource as"
            + " TlsEnforcingDataSource.requireVerifyFull(pgSimpleDataSource) (or a HikariDataSource"
            + " whose dataSource is one).",
        null);
  }

  private static final Logger log = LoggerFactory.getLogger(TlsUnderPoolPostProcessor.class);
}
