package com.panops.crypto.jdbc;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URL;
import java.sql.Connection;
import java.sql.ConnectionBuilder;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.ShardingKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.postgresql.Driver;
import org.postgresql.PGProperty;
import org.postgresql.ds.PGSimpleDataSource;
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
 * HikariConfig pool = new HikariConfig();
 * pool.setDataSource(ds); // wrap the physical DataSource, never the pool
 * }</pre>
 *
 * <p><b>Design: decide on the complete effective settings, before connecting.</b> pgjdbc decides
 * TLS from the merge of three layers: its driver defaults (every {@code
 * org/postgresql/driverconfig.properties} on its class loader), then the connection properties
 * given to {@code Driver.connect}, then the URL's parameters (and whatever pgjdbc's own URL parser
 * adds: a {@code service} entry, environment defaults). A check that sees only one layer (the URL,
 * say) can be bypassed by another ({@code sslfactory=NonValidatingFactory} given as a property, a
 * pool's {@code addDataSourceProperty}, a {@code driverconfig.properties} on the class path). So
 * the delegate must be a {@link PGSimpleDataSource}, whose settings can be read in full: this class
 * takes its URL ({@link PGSimpleDataSource#getUrl()} carries every property set on it), merges the
 * three layers exactly as pgjdbc's {@code Driver.connect} does ({@link #effectiveSettings}), judges
 * the result, and only then opens the connection itself with pgjdbc's {@link Driver} and that very
 * URL and those properties, so the settings judged are the settings used and a refusal opens no
 * socket. Any other delegate (a pool, a {@code DriverManager} adapter, a wrapper of unknown
 * behaviour, a subclass that may override {@code getConnection}) is refused when this object is
 * built, because its settings cannot be read in full.
 *
 * <p><b>Wrap the physical DataSource, never the pool.</b> A pool in front of the check (the check
 * wrapped around the pool) would have made the unverified handshake, password included, before
 * anything could be checked, and a refused connection would go back to the pool. Give this object
 * to the pool as its {@code dataSource} instead: every physical connection is then checked before
 * it is opened.
 *
 * <p>The check resolves pgjdbc's defaults as pgjdbc does ({@link SslMode#of}: {@code ssl=true}
 * alone means {@code verify-full}; nothing means {@code prefer}), and also refuses a {@code
 * verify-full} that has been hollowed out by a custom {@code sslfactory} (such as {@code
 * NonValidatingFactory}) or {@code sslhostnameverifier}; pgjdbc's {@code LibPQFactory} (the
 * default) and {@code DefaultJavaSSLFactory} (the JVM trust store) are accepted. GSSAPI encryption,
 * which pgjdbc would negotiate instead of TLS when a Kerberos ticket is at hand, is turned off
 * ({@code gssEncMode=disable} under every other setting), and a URL that asks for it ({@code
 * gssEncMode} other than {@code disable}) is refused.
 *
 * <p><b>Local tests.</b> {@link #allowInsecureLocalTestDatabase} accepts any {@code sslmode}, but
 * only for hosts that are loopback literals ({@code localhost}, {@code 127.0.0.0/8}, {@code ::1});
 * it is a distinct factory method so that the choice is visible in code review.
 *
 * <p>Refusals are {@link SQLNonTransientConnectionException}s with state {@link
 * SqlStates#INSECURE_TRANSPORT}. Every other method delegates; {@link #unwrap} and {@link
 * #isWrapperFor} see through to the delegate (so a caller who unwraps gets the unchecked delegate:
 * that is what unwrapping means). Thread-safe: each connection reads the delegate's settings once,
 * and that snapshot is both judged and used.
 */
public final class TlsEnforcingDataSource implements DataSource {
  private static final Set<String> TRUSTED_FACTORIES =
      Set.of("org.postgresql.ssl.LibPQFactory", "org.postgresql.ssl.DefaultJavaSSLFactory");
  private static final Set<String> TRUSTED_VERIFIERS =
      Set.of("org.postgresql.ssl.PGjdbcHostnameVerifier");
  private static final String DRIVER_CONFIG = "org/postgresql/driverconfig.properties";

  /** pgjdbc's driver, not registered with DriverManager: the one that opens every connection. */
  private static final Driver DRIVER = new Driver();

  private final PGSimpleDataSource delegate;
  private final boolean allowInsecureLocal;

  private TlsEnforcingDataSource(DataSource delegate, boolean allowInsecureLocal) {
    Objects.requireNonNull(delegate, "delegate");
    if (delegate.getClass() != PGSimpleDataSource.class) {
      throw new IllegalArgumentException(
          "TlsEnforcingDataSource needs a org.postgresql.ds.PGSimpleDataSource (whose TLS settings"
              + " can be read in full), not a "
              + delegate.getClass().getName()
              + ": wrap the physical DataSource and give the result to the pool, never wrap the"
              + " pool");
    }
    this.delegate = (PGSimpleDataSource) delegate;
    this.allowInsecureLocal = allowInsecureLocal;
  }

  /**
   * Connections only with {@code sslmode=verify-full} and pgjdbc's own verification.
   *
   * @param delegate a {@link PGSimpleDataSource} (exactly that class)
   * @throws IllegalArgumentException if {@code delegate} is anything else (a pool, a wrapper, a
   *     subclass): its effective settings cannot be read in full
   */
  public static TlsEnforcingDataSource requireVerifyFull(DataSource delegate) {
    return new TlsEnforcingDataSource(delegate, false);
  }

  /**
   * For a local test database only: any {@code sslmode} is accepted, provided every host is a
   * loopback literal; a remote host still needs {@code verify-full}.
   *
   * @throws IllegalArgumentException as {@link #requireVerifyFull}
   */
  public static TlsEnforcingDataSource allowInsecureLocalTestDatabase(DataSource delegate) {
    return new TlsEnforcingDataSource(delegate, true);
  }

  /**
   * A connection with the delegate's user and password, after the checks in the class comment.
   *
   * @throws SQLNonTransientConnectionException ({@link SqlStates#INSECURE_TRANSPORT}) if the
   *     settings do not verify the server; then no socket was opened
   */
  @Override
  public Connection getConnection() throws SQLException {
    return connect(delegate.getUser(), delegate.getPassword());
  }

  /** As {@link #getConnection()}, with credentials. */
  @Override
  public Connection getConnection(String username, String password) throws SQLException {
    return connect(username, password);
  }

  private Connection connect(String user, String password) throws SQLException {
    // one snapshot of every setting: judged, then used
    String url = withGssEncryptionOff(delegate.getUrl());
    Properties info = connectionProperties(user, password);
    Properties effective = effectiveSettings(driverDefaults(), info, url);
    refuseIf(
        effective == null
            ? "the data source's URL cannot be parsed: its TLS settings cannot be verified"
            : refusal(effective, allowInsecureLocal));
    Connection c = DRIVER.connect(url, info);
    if (c == null) {
      throw new SQLNonTransientConnectionException(
          "pgjdbc did not accept the data source's URL", SqlStates.INSECURE_TRANSPORT);
    }
    return c;
  }

  /**
   * The connection properties this wrapper passes to pgjdbc: the credentials, and {@code
   * gssEncMode=disable}. pgjdbc tries GSSAPI encryption before TLS when it is allowed and a
   * Kerberos ticket is at hand, and a session it encrypts that way never checks the server's TLS
   * certificate; so it is turned off here, under every driver default, and a URL that asks for it
   * is refused ({@link #refusal}). Package-private for tests.
   */
  static Properties connectionProperties(String user, String password) {
    Properties info = new Properties();
    if (user != null) {
      info.setProperty(PGProperty.USER.getName(), user);
    }
    if (password != null) {
      info.setProperty(PGProperty.PASSWORD.getName(), password);
    }
    info.setProperty(PGProperty.GSS_ENC_MODE.getName(), "disable");
    return info;
  }

  /**
   * {@code url} (a {@link PGSimpleDataSource}'s, which lists every property, pgjdbc's default
   * {@code gssEncMode=allow} included) with {@code gssEncMode=disable}, unless it asks for GSSAPI
   * encryption outright ({@code prefer}, {@code require}: left as it is, and refused). pgjdbc's
   * {@code allow} means "without GSSAPI encryption first, then with it", a fallback that would skip
   * TLS. Package-private for tests.
   */
  static String withGssEncryptionOff(String url) {
    if (url == null || !url.startsWith("jdbc:postgresql:")) {
      return url;
    }
    PGSimpleDataSource copy = new PGSimpleDataSource();
    try {
      copy.setUrl(url);
    } catch (RuntimeException unparsable) {
      return url; // judged as it is: refused as unparsable
    }
    String asked = copy.getGssEncMode();
    if ("prefer".equalsIgnoreCase(asked) || "require".equalsIgnoreCase(asked)) {
      return url;
    }
    copy.setGssEncMode("disable");
    return copy.getUrl();
  }

  /**
   * The settings pgjdbc's {@code Driver.connect(url, info)} uses: {@code defaults}, overridden by
   * {@code info}, overridden by the URL (through pgjdbc's own parser); null if the URL is not
   * pgjdbc's. Package-private for tests.
   */
  static Properties effectiveSettings(Properties defaults, Properties info, String url) {
    if (url == null || !url.startsWith("jdbc:postgresql:")) {
      return null;
    }
    Properties props = new Properties(defaults);
    for (String name : info.stringPropertyNames()) {
      props.setProperty(name, info.getProperty(name));
    }
    return Driver.parseURL(url, props);
  }

  private static volatile Properties driverDefaults;

  /** pgjdbc's driver defaults, loaded once, as its {@code Driver} loads and caches them. */
  private static Properties driverDefaults() throws SQLException {
    Properties p = driverDefaults;
    if (p == null) {
      try {
        p = loadDriverDefaults(Driver.class.getClassLoader());
      } catch (IOException e) {
        throw new SQLNonTransientConnectionException(
            "cannot read pgjdbc's driverconfig.properties: its TLS settings cannot be verified",
            SqlStates.INSECURE_TRANSPORT,
            e);
      }
      driverDefaults = p;
    }
    return p;
  }

  /**
   * pgjdbc's driver defaults: every {@value #DRIVER_CONFIG} on the class loader, earlier ones on
   * the class path winning (pgjdbc loads them in reverse order, each overriding the last).
   * Package-private for tests.
   */
  static Properties loadDriverDefaults(ClassLoader cl) throws IOException {
    Properties merged = new Properties();
    ClassLoader loader = cl == null ? ClassLoader.getSystemClassLoader() : cl;
    List<URL> urls = Collections.list(loader.getResources(DRIVER_CONFIG));
    for (int i = urls.size() - 1; i >= 0; i--) {
      try (InputStream in = urls.get(i).openStream()) {
        merged.load(in);
      }
    }
    return merged;
  }

  private static void refuseIf(String refusal) throws SQLException {
    if (refusal != null) {
      throw new SQLNonTransientConnectionException(
          "connection refused by TlsEnforcingDataSource: " + refusal, SqlStates.INSECURE_TRANSPORT);
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
    String gss = p.getProperty(PGProperty.GSS_ENC_MODE.getName());
    if (gss != null && !"disable".equalsIgnoreCase(gss.trim())) {
      problem =
          "gssEncMode="
              + gss
              + " asks for GSSAPI encryption, which replaces TLS and never checks the server's"
              + " certificate; remove it (connections are opened with gssEncMode=disable)";
    } else if (mode != SslMode.VERIFY_FULL) {
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
