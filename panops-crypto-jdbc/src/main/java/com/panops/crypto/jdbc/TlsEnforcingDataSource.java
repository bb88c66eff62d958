package com.panops.crypto.jdbc;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.ConnectionBuilder;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.ShardingKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.postgresql.Driver;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.ds.common.BaseDataSource;
import org.postgresql.jdbc.SslMode;
import org.postgresql.util.PSQLException;

/**
 * A {@link DataSource} decorator that hands out only PostgreSQL connections whose TLS settings
 * verify the server: {@code sslmode=verify-full} (certificate chain and host name), with pgjdbc's
 * own certificate and host name checks in force.
 *
 * <pre>{@code
 * PGSimpleDataSource pg = new PGSimpleDataSource();
 * pg.setUrl("jdbc:postgresql://db.example:5432/app?sslmode=verify-full&sslrootcert=/etc/rds-ca.pem");
 * DataSource ds = TlsEnforcingDataSource.requireVerifyFull(pg);
 * }</pre>
 *
 * <p><b>How the settings are read (the robust way chosen).</b> pgjdbc decides TLS from its
 * connection properties, so this class reads those, twice:
 *
 * <ol>
 *   <li>before connecting, when the delegate is or wraps a pgjdbc {@link BaseDataSource} (such as
 *       {@code PGSimpleDataSource}, reached through {@link DataSource#unwrap}): its {@code ssl},
 *       {@code sslmode}, {@code sslfactory}, {@code sslhostnameverifier} and host properties; a
 *       refused setting opens no socket;
 *   <li>after connecting, on every connection: it must be a pgjdbc connection ({@link
 *       PGConnection}, possibly behind a pool's proxy), and the properties parsed from the URL it
 *       was created with ({@code DatabaseMetaData.getURL()}, no round trip) must pass the same
 *       check; otherwise the connection is closed and refused.
 * </ol>
 *
 * The check resolves pgjdbc's defaults as pgjdbc does ({@link SslMode#of}: {@code ssl=true} alone
 * means {@code verify-full}; nothing means {@code prefer}), and also refuses a {@code verify-full}
 * that has been hollowed out by a custom {@code sslfactory} (such as {@code NonValidatingFactory})
 * or {@code sslhostnameverifier}; pgjdbc's {@code LibPQFactory} (the default) and {@code
 * DefaultJavaSSLFactory} (the JVM trust store) are accepted. A driver whose settings come from
 * elsewhere than its URL (e.g. a pool given {@code jdbcUrl} plus separate data-source properties)
 * is refused rather than trusted: wrap the pool's underlying {@code PGSimpleDataSource}, or put the
 * settings in the URL. Decorating the pool's underlying DataSource (rather than the pool) also
 * means the check runs once per physical connection.
 *
 * <p><b>Local tests.</b> {@link #allowInsecureLocalTestDatabase} accepts any {@code sslmode}, but
 * only for hosts that are loopback literals ({@code localhost}, {@code 127.0.0.0/8}, {@code ::1});
 * it is a distinct factory method so that the choice is visible in code review.
 *
 * <p>Refusals are {@link SQLNonTransientConnectionException}s with state {@link
 * SqlStates#INSECURE_TRANSPORT}. Every other method delegates; {@link #unwrap} and {@link
 * #isWrapperFor} see through to the delegate (so a caller who unwraps gets the unchecked delegate:
 * that is what unwrapping means). Thread-safe if the delegate is.
 */
public final class TlsEnforcingDataSource implements DataSource {
  private static final Set<String> TRUSTED_FACTORIES =
      Set.of("org.postgresql.ssl.LibPQFactory", "org.postgresql.ssl.DefaultJavaSSLFactory");
  private static final Set<String> TRUSTED_VERIFIERS =
      Set.of("org.postgresql.ssl.PGjdbcHostnameVerifier");

  private final DataSource delegate;
  private final boolean allowInsecureLocal;

  private TlsEnforcingDataSource(DataSource delegate, boolean allowInsecureLocal) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
    this.allowInsecureLocal = allowInsecureLocal;
  }

  /** Connections only with {@code sslmode=verify-full} and pgjdbc's own verification. */
  public static TlsEnforcingDataSource requireVerifyFull(DataSource delegate) {
    return new TlsEnforcingDataSource(delegate, false);
  }

  /**
   * For a local test database only: any {@code sslmode} is accepted, provided every host is a
   * loopback literal; a remote host still needs {@code verify-full}.
   */
  public static TlsEnforcingDataSource allowInsecureLocalTestDatabase(DataSource delegate) {
    return new TlsEnforcingDataSource(delegate, true);
  }

  /**
   * A connection from the delegate, after the checks in the class comment.
   *
   * @throws SQLNonTransientConnectionException ({@link SqlStates#INSECURE_TRANSPORT}) if the
   *     settings do not verify the server
   */
  @Override
  public Connection getConnection() throws SQLException {
    checkBefore();
    return checkAfter(delegate.getConnection());
  }

  /** As {@link #getConnection()}, with credentials. */
  @Override
  public Connection getConnection(String username, String password) throws SQLException {
    checkBefore();
    return checkAfter(delegate.getConnection(username, password));
  }

  private void checkBefore() throws SQLException {
    if (!delegate.isWrapperFor(BaseDataSource.class)) {
      return; // decided on the connection
    }
    BaseDataSource pg = delegate.unwrap(BaseDataSource.class);
    Properties p = new Properties();
    for (PGProperty prop :
        new PGProperty[] {
          PGProperty.SSL,
          PGProperty.SSL_MODE,
          PGProperty.SSL_FACTORY,
          PGProperty.SSL_HOSTNAME_VERIFIER
        }) {
      String v = pg.getProperty(prop);
      if (v != null) {
        p.setProperty(prop.getName(), v);
      }
    }
    String[] hosts = pg.getServerNames();
    p.setProperty(PGProperty.PG_HOST.getName(), hosts == null ? "" : String.join(",", hosts));
    refuseIf(refusal(p, allowInsecureLocal));
  }

  private Connection checkAfter(Connection c) throws SQLException {
    String refusal;
    try {
      if (c == null) {
        throw new SQLException("delegate returned no connection");
      }
      if (!c.isWrapperFor(PGConnection.class)) {
        refusal = "not a pgjdbc connection: its TLS settings cannot be verified";
      } else {
        String url = c.getMetaData().getURL();
        Properties p = url == null ? null : Driver.parseURL(url, new Properties());
        refusal =
            p == null
                ? "the connection's URL cannot be parsed: its TLS settings cannot be verified"
                : refusal(p, allowInsecureLocal);
      }
    } catch (SQLException | RuntimeException e) {
      closeQuietly(c, e);
      throw e;
    }
    if (refusal != null) {
      closeQuietly(c, null);
      refuseIf(refusal);
    }
    return c;
  }

  private static void refuseIf(String refusal) throws SQLException {
    if (refusal != null) {
      throw new SQLNonTransientConnectionException(
          "connection refused by TlsEnforcingDataSource: " + refusal, SqlStates.INSECURE_TRANSPORT);
    }
  }

  private static void closeQuietly(Connection c, Throwable primary) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (SQLException e) {
      if (primary != null) {
        primary.addSuppressed(e);
      }
    }
  }

  /**
   * Why the pgjdbc properties {@code p} do not give a verified TLS session, or null if they do.
   * Package-private for tests.
   */
  static String refusal(Properties p, boolean allowInsecureLocal) {
    SslMode mode;
    try {
      mode = SslMode.of(p);
    } catch (PSQLException e) {
      return "invalid sslmode: " + e.getMessage();
    }
    String factory = p.getProperty(PGProperty.SSL_FACTORY.getName());
    String verifier = p.getProperty(PGProperty.SSL_HOSTNAME_VERIFIER.getName());
    String problem = null;
    if (mode != SslMode.VERIFY_FULL) {
      problem =
          "sslmode="
              + mode.name().toLowerCase(Locale.ROOT).replace('_', '-')
              + " does not verify the server's certificate and host name; use sslmode=verify-full";
    } else if (factory != null && !factory.isEmpty() && !TRUSTED_FACTORIES.contains(factory)) {
      problem = "sslfactory=" + factory + " may not verify the certificate chain";
    } else if (verifier != null && !verifier.isEmpty() && !TRUSTED_VERIFIERS.contains(verifier)) {
      problem = "sslhostnameverifier=" + verifier + " may not verify the host name";
    }
    if (problem == null) {
      return null;
    }
    if (allowInsecureLocal) {
      List<String> remote = nonLoopbackHosts(p.getProperty(PGProperty.PG_HOST.getName()));
      if (remote.isEmpty()) {
        return null;
      }
      return problem + " (the local-test opt-in covers loopback hosts only, not " + remote + ")";
    }
    return problem;
  }

  private static List<String> nonLoopbackHosts(String hosts) {
    List<String> remote = new ArrayList<>();
    if (hosts == null || hosts.isBlank()) {
      remote.add("(no host)");
      return remote;
    }
    for (String h : hosts.split(",")) {
      String host = h.trim().toLowerCase(Locale.ROOT);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      boolean loopback =
          host.equals("localhost")
              || host.equals("::1")
              || host.equals("0:0:0:0:0:0:0:1")
              || host.matches("127\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}");
      if (!loopback) {
        remote.add(h.trim());
      }
    }
    return remote;
  }

  // ------------------------------------------------------------------ delegation

  /**
   * A builder whose {@code build()} goes through the same checks; sharding keys are not supported.
   */
  @Override
  public ConnectionBuilder createConnectionBuilder() throws SQLException {
    return new ConnectionBuilder() {
      private String user;
      private String password;

      @Override
      public ConnectionBuilder user(String username) {
        this.user = username;
        return this;
      }

      @Override
      public ConnectionBuilder password(String password) {
        this.password = password;
        return this;
      }

      @Override
      public ConnectionBuilder shardingKey(ShardingKey shardingKey) {
        throw new UnsupportedOperationException("sharding keys are not supported");
      }

      @Override
      public ConnectionBuilder superShardingKey(ShardingKey superShardingKey) {
        throw new UnsupportedOperationException("sharding keys are not supported");
      }

      @Override
      public Connection build() throws SQLException {
        return user == null && password == null ? getConnection() : getConnection(user, password);
      }
    };
  }

  @Override
  public PrintWriter getLogWriter() throws SQLException {
    return delegate.getLogWriter();
  }

  @Override
  public void setLogWriter(PrintWriter out) throws SQLException {
    delegate.setLogWriter(out);
  }

  @Override
  public void setLoginTimeout(int seconds) throws SQLException {
    delegate.setLoginTimeout(seconds);
  }

  @Override
  public int getLoginTimeout() throws SQLException {
    return delegate.getLoginTimeout();
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    return delegate.getParentLogger();
  }

  /** This object, the delegate, or whatever the delegate unwraps to. */
  @Override
  public <T> T unwrap(Class<T> iface) throws SQLException {
    if (iface.isInstance(this)) {
      return iface.cast(this);
    }
    if (iface.isInstance(delegate)) {
      return iface.cast(delegate);
    }
    return delegate.unwrap(iface);
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) throws SQLException {
    return iface.isInstance(this) || iface.isInstance(delegate) || delegate.isWrapperFor(iface);
  }

  @Override
  public String toString() {
    return "TlsEnforcingDataSource["
        + (allowInsecureLocal ? "verify-full, or any mode on loopback" : "verify-full")
        + ", "
        + delegate.getClass().getName()
        + "]";
  }
}
