package com.panops.crypto.testkit.s3;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Launches Adobe's S3Mock ({@code com.adobe.testing:s3mock}, its runnable {@code exec} jar) as a
 * child process on 127.0.0.1, on free ports, for tests and local runs.
 *
 * <pre>{@code
 * try (S3MockServer s3 = S3MockServer.start(S3MockServer.locateJar())) {
 *   S3Client client = S3Client.builder()
 *       .endpointOverride(s3.endpoint())        // http://127.0.0.1:PORT
 *       .forcePathStyle(true)                   // S3Mock serves path-style only
 *       .region(Region.of(s3.region()))
 *       .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("a", "b")))
 *       .build();
 * }
 * }</pre>
 *
 * <p>S3Mock accepts any credentials. It refuses an SSE-KMS request whose key id is not one of the
 * {@link Builder#validKmsKeys(List) valid KMS keys} given at start (full key ARNs), so a test that
 * uses SSE-KMS must create its keys before starting the server.
 *
 * <p>The server stores objects under a temporary directory, deleted by {@link #close()}, and logs
 * to a file ({@link #logFile()}). A JVM shutdown hook kills the process if {@link #close()} was not
 * called. Start takes 10 to 40 seconds on these machines (a Spring Boot application): start one per
 * test run and share it. Thread-safe.
 */
public final class S3MockServer implements AutoCloseable {
  /** The system property that names the exec jar (set by the build for the ITs). */
  public static final String JAR_PROPERTY = "panops.s3mock.jar";

  /** The S3Mock version this launcher was written against. */
  public static final String VERSION = "4.12.4";

  private final Process process;
  private final int httpPort;
  private final Path root;
  private final Path logFile;
  private final Thread shutdownHook;
  private boolean closed;

  private S3MockServer(Process process, int httpPort, Path root, Path logFile) {
    this.process = process;
    this.httpPort = httpPort;
    this.root = root;
    this.logFile = logFile;
    this.shutdownHook = new Thread(this::kill, "s3mock-shutdown");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts S3Mock from {@code jar} with the defaults of {@link Builder}. */
  public static S3MockServer start(Path jar) {
    return builder(jar).start();
  }

  /** A builder for a server launched from the exec jar at {@code jar}. */
  public static Builder builder(Path jar) {
    return new Builder(jar);
  }

  /**
   * The exec jar: the path in system property {@value #JAR_PROPERTY} if set, else the copy in the
   * local Maven repository ({@code ~/.m2/repository/com/adobe/testing/s3mock/VERSION/}).
   *
   * @throws IllegalStateException if neither exists
   */
  public static Path locateJar() {
    return ChildServers.locateJar(
        JAR_PROPERTY,
        "S3Mock exec jar",
        "run: ./mvnw dependency:get -Dartifact=com.adobe.testing:s3mock:" + VERSION + ":jar:exec",
        "com",
        "adobe",
        "testing",
        "s3mock",
        VERSION,
        "s3mock-" + VERSION + "-exec.jar");
  }

  /** The plain-HTTP endpoint, {@code http://127.0.0.1:PORT}. */
  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + httpPort);
  }

  /** The region S3Mock answers for. */
  public String region() {
    return "us-east-1";
  }

  /** The HTTP port. */
  public int port() {
    return httpPort;
  }

  /** Where the server's output goes. */
  public Path logFile() {
    return logFile;
  }

  /** Whether the process is still running. */
  public boolean isRunning() {
    return process.isAlive();
  }

  /**
   * Stops the process (waiting up to 10 s, then killing it) and deletes its storage. Idempotent.
   */
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
    ChildServers.deleteTree(root);
  }

  private void kill() {
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "S3MockServer[" + endpoint() + ", log " + logFile + "]";
  }

  /** Options of the launched server. Not thread-safe. */
  public static final class Builder {
    private final Path jar;
    private final List<String> validKmsKeys = new ArrayList<>();
    private final List<String> initialBuckets = new ArrayList<>();
    private Duration startupTimeout = Duration.ofSeconds(180);
    private String maxHeap = "384m";
    private Path logFile;

    private Builder(Path jar) {
      this.jar = Objects.requireNonNull(jar, "jar");
    }

    /** KMS key ARNs S3Mock accepts in SSE-KMS requests (it refuses any other key id). */
    public Builder validKmsKeys(List<String> keyArns) {
      for (String k : keyArns) {
        if (k == null || k.isBlank() || k.contains(",")) {
          throw new IllegalArgumentException("bad KMS key ARN: " + k);
        }
        validKmsKeys.add(k);
      }
      return this;
    }

    /** Buckets that exist from the start. */
    public Builder initialBuckets(List<String> buckets) {
      for (String b : buckets) {
        if (b == null || b.isBlank() || b.contains(",")) {
          throw new IllegalArgumentException("bad bucket name: " + b);
        }
        initialBuckets.add(b);
      }
      return this;
    }

    /** How long to wait for the server to answer; default 180 s. */
    public Builder startupTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive");
      }
      this.startupTimeout = timeout;
      return this;
    }

    /** The server JVM's {@code -Xmx} value, e.g. {@code 384m} (the default). */
    public Builder maxHeap(String xmx) {
      if (!xmx.matches("[0-9]+[kKmMgG]?")) {
        throw new IllegalArgumentException("bad -Xmx value: " + xmx);
      }
      this.maxHeap = xmx;
      return this;
    }

    /** Where the server's output goes; default a temporary file. */
    public Builder logFile(Path file) {
      this.logFile = Objects.requireNonNull(file, "file");
      return this;
    }

    /**
     * Launches the server and waits until it answers {@code GET /} with 200.
     *
     * @throws IllegalStateException if the jar is missing, or the server exits or does not answer
     *     within the startup timeout (the log file is named in the message)
     */
    public S3MockServer start() {
      if (!Files.isRegularFile(jar)) {
        throw new IllegalStateException("S3Mock jar not found: " + jar);
      }
      IllegalStateException last = null;
      for (int attempt = 0; attempt < 3; attempt++) {
        try {
          return launch();
        } catch (ChildServers.PortTakenException e) {
          last = new IllegalStateException("S3Mock could not bind its port", e);
        }
      }
      throw last;
    }

    private S3MockServer launch() {
      Path root;
      Path log;
      try {
        root = Files.createTempDirectory("s3mock-root");
        log = logFile != null ? logFile : Files.createTempFile("s3mock", ".log");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      int http = ChildServers.freePort();
      int https = ChildServers.freePort();
      Process p;
      try {
        p = ChildServers.launch(command(http, https, root), log);
      } catch (IOException e) {
        throw new UncheckedIOException("could not launch S3Mock", e);
      }
      URI probe = URI.create("http://127.0.0.1:" + http + "/");
      ChildServers.awaitServing(
          p,
          new ChildServers.Startup(
              "S3Mock",
              probe,
              status -> status == 200,
              250,
              startupTimeout,
              log,
              "; log " + log,
              root));
      return new S3MockServer(p, http, root, log);
    }

    private List<String> command(int http, int https, Path root) {
      List<String> cmd = ChildServers.javaJarCommand(maxHeap, jar);
      cmd.add("--com.adobe.testing.s3mock.httpPort=" + http);
      cmd.add("--server.port=" + https);
      cmd.add("--server.address=127.0.0.1");
      cmd.add("--com.adobe.testing.s3mock.store.root=" + root);
      cmd.add("--com.adobe.testing.s3mock.store.retainFilesOnExit=false");
      if (!validKmsKeys.isEmpty()) {
        cmd.add("--com.adobe.testing.s3mock.store.validKmsKeys=" + String.join(",", validKmsKeys));
      }
      if (!initialBuckets.isEmpty()) {
        cmd.add(
            "--com.adobe.testing.s3mock.store.initialBuckets=" + String.join(",", initialBuckets));
      }
      cmd.add("--spring.main.banner-mode=off");
      return cmd;
    }
  }
}
