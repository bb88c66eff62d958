package com.panops.crypto.testkit.s3;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * Launches S3Proxy ({@code org.gaul:s3proxy}, its {@code jar-with-dependencies}) as a child process
 * on 127.0.0.1, on a free port, with jclouds' in-memory {@code transient} blob store: a second S3
 * implementation beside S3Mock. Unlike S3Mock it checks SigV4 signatures against {@link
 * #accessKeyId()} / {@link #secretAccessKey()}, enforces {@code If-Match}, and answers {@code
 * GetObjectTagging} with 501 NotImplemented; it has no SSE-KMS.
 *
 * <pre>{@code
 * try (S3ProxyServer s3 = S3ProxyServer.start(S3ProxyServer.locateJar())) {
 *   S3Client client = S3Client.builder()
 *       .endpointOverride(s3.endpoint())
 *       .forcePathStyle(true)
 *       .region(Region.of(s3.region()))
 *       .credentialsProvider(StaticCredentialsProvider.create(
 *           AwsBasicCredentials.create(s3.accessKeyId(), s3.secretAccessKey())))
 *       .build();
 * }
 * }</pre>
 *
 * <p>A JVM shutdown hook kills the process if {@link #close()} was not called. Thread-safe.
 */
public final class S3ProxyServer implements AutoCloseable {
  /** The system property that names the jar (set by the build for the ITs). */
  public static final String JAR_PROPERTY = "panops.s3proxy.jar";

  /** The S3Proxy version this launcher was written against. */
  public static final String VERSION = "4.1.0";

  private static final String ACCESS_KEY = "s3proxy-it-access";
  private static final String SECRET_KEY = "s3proxy-it-secret";

  private final Process process;
  private final int port;
  private final Path dir;
  private final Path logFile;
  private final Thread shutdownHook;
  private boolean closed;

  private S3ProxyServer(Process process, int port, Path dir, Path logFile) {
    this.process = process;
    this.port = port;
    this.dir = dir;
    this.logFile = logFile;
    this.shutdownHook = new Thread(this::kill, "s3proxy-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /**
   * The jar: the path in system property {@value #JAR_PROPERTY} if set, else the copy in the local
   * Maven repository.
   *
   * @throws IllegalStateException if neither exists
   */
  public static Path locateJar() {
    return ChildServers.locateJar(
        JAR_PROPERTY,
        "S3Proxy jar",
        "fetch org.gaul:s3proxy:" + VERSION + ":jar:jar-with-dependencies",
        "org",
        "gaul",
        "s3proxy",
        VERSION,
        "s3proxy-" + VERSION + "-jar-with-dependencies.jar");
  }

  /**
   * Launches S3Proxy from {@code jar} and waits until it answers (at most 120 s).
   *
   * @throws IllegalStateException if the jar is missing, or the server exits or does not answer
   */
  public static S3ProxyServer start(Path jar) {
    Objects.requireNonNull(jar, "jar");
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("S3Proxy jar not found: " + jar);
    }
    IllegalStateException last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        return launch(jar, Duration.ofSeconds(120));
      } catch (ChildServers.PortTakenException e) {
        last = new IllegalStateException("S3Proxy could not bind its port", e);
      }
    }
    throw last;
  }

  private static S3ProxyServer launch(Path jar, Duration timeout) {
    int port = ChildServers.freePort();
    Path dir;
    try {
      dir = Files.createTempDirectory("s3proxy");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path log = dir.resolve("s3proxy.log");
    Path conf = dir.resolve("s3proxy.conf");
    writeConfiguration(conf, port);
    List<String> cmd = ChildServers.javaJarCommand("256m", jar);
    cmd.add("--properties");
    cmd.add(conf.toString());
    Process proc;
    try {
      proc = ChildServers.launch(cmd, log);
    } catch (IOException e) {
      ChildServers.deleteTree(dir);
      throw new UncheckedIOException("could not launch S3Proxy", e);
    }
    URI probe = URI.create("http://127.0.0.1:" + port + "/");
    ChildServers.awaitServing(
        proc,
        new ChildServers.Startup(
            "S3Proxy",
            probe,
            status -> status > 0, // 403 to an unsigned request: serving
            200,
            timeout,
            log,
            "",
            dir));
    return new S3ProxyServer(proc, port, dir, log);
  }

  /** S3Proxy's properties: this port, SigV2/V4 with the test keys, jclouds' transient store. */
  private static void writeConfiguration(Path conf, int port) {
    Properties p = new Properties();
    p.setProperty("s3proxy.endpoint", "http://127.0.0.1:" + port);
    p.setProperty("s3proxy.authorization", "aws-v2-or-v4");
    p.setProperty("s3proxy.identity", ACCESS_KEY);
    p.setProperty("s3proxy.credential", SECRET_KEY);
    p.setProperty("jclouds.provider", "transient");
    p.setProperty("jclouds.identity", "unused");
    p.setProperty("jclouds.credential", "unused");
    try (Writer w = Files.newBufferedWriter(conf, StandardCharsets.UTF_8)) {
      p.store(w, "S3ProxyServer (panops-crypto-testkit)");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The plain-HTTP endpoint, {@code http://127.0.0.1:PORT}. */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  /** The region to sign for (S3Proxy accepts any). */
  public String region() {
    return "us-east-1";
  }

  /** The access key id S3Proxy checks signatures against. */
  public String accessKeyId() {
    return ACCESS_KEY;
  }

  /** The secret key S3Proxy checks signatures against (a fixed test value). */
  public String secretAccessKey() {
    return SECRET_KEY;
  }

  /** Where the server's output goes (deleted by {@link #close()}). */
  public Path logFile() {
    return logFile;
  }

  /** Stops the process and deletes its directory. Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
    kill();
    ChildServers.deleteTree(dir);
  }

  private void kill() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "S3ProxyServer[" + endpoint() + "]";
  }
}
