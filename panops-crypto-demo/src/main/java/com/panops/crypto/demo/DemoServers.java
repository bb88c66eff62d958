package com.panops.crypto.demo;

import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import com.panops.crypto.testkit.s3.S3MockServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The three servers the walkthrough needs, all on 127.0.0.1 and nothing to install: LocalKms (the
 * customer's KMS, in this process), S3Mock (S3, a child JVM from the exec jar named by {@value
 * S3MockServer#JAR_PROPERTY}) and PostgreSQL 16 with TLS (embedded binaries, a child process).
 * S3Mock, the slowest, starts in the background while PostgreSQL starts. {@link #close()} stops all
 * of them, also after a failure.
 */
final class DemoServers implements AutoCloseable {
  final LocalKms kms;

  /** Where LocalKms delivers its trail as CloudTrail log files. */
  final Path cloudTrail;

  final S3MockServer s3;
  final TlsPostgres postgres;
  private final Console con;

  private DemoServers(
      Console con, LocalKms kms, Path cloudTrail, S3MockServer s3, TlsPostgres postgres) {
    this.con = con;
    this.kms = kms;
    this.cloudTrail = cloudTrail;
    this.s3 = s3;
    this.postgres = postgres;
  }

  /**
   * Where LocalKms delivers its trail as CloudTrail log files (a new temporary folder per run; the
   * verifier's HTML report is written beside it).
   */
  private static Path newCloudTrailDirectory() {
    try {
      return Files.createTempDirectory("panops-demo-").resolve("cloudtrail");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the folder of the demo's CloudTrail", e);
    }
  }

  static DemoServers start(Console con) {
    long t0 = System.nanoTime();
    Path s3mockJar = S3MockServer.locateJar(); // fails at once if the build did not copy it
    Path cloudTrail = newCloudTrailDirectory();
    // delivered as CloudTrail does, in files of five minutes (the run's trail in one or two files)
    LocalKms kms =
        LocalKms.builder()
            .cloudTrailDirectory(cloudTrail)
            .cloudTrailDeliveryInterval(java.time.Duration.ofMinutes(5))
            .cloudTrailRecordsPerFile(100_000)
            .start();
    con.kv("the customer's KMS (LocalKms, in process)", kms.endpoint() + "  " + Console.since(t0));
    ExecutorService bg =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "demo-s3mock-start");
              t.setDaemon(true);
              return t;
            });
    long s3Start = System.nanoTime();
    CompletableFuture<S3MockServer> s3Future =
        CompletableFuture.supplyAsync(() -> S3MockServer.builder(s3mockJar).start(), bg);
    TlsPostgres pg = null;
    S3MockServer s3 = null;
    boolean ok = false;
    try {
      long pgStart = System.nanoTime();
      // also on a second loopback address its certificate does not name (the host-name check)
      pg =
          TlsPostgres.builder()
              .serverConfig("listen_addresses", "localhost," + DemoTls.OTHER_LOOPBACK)
              .start();
      con.kv(
          "PostgreSQL 16 with TLS (embedded)",
          "localhost:" + pg.port() + "  " + Console.since(pgStart));
      try {
        s3 = s3Future.join();
      } catch (CompletionException e) {
        throw e.getCause() instanceof RuntimeException re ? re : e;
      }
      con.kv(
          "S3 (S3Mock " + S3MockServer.VERSION + ", child JVM)",
          s3.endpoint() + "  " + Console.since(s3Start));
      con.kv("all servers up", Console.since(t0));
      ok = true;
      return new DemoServers(con, kms, cloudTrail, s3, pg);
    } finally {
      bg.shutdown();
      if (!ok) {
        if (s3 == null) {
          // a start still in flight: stop whatever it produces
          s3Future.thenAccept(S3MockServer::close);
        }
        closeQuietly(s3);
        closeQuietly(pg);
        closeQuietly(kms);
      }
    }
  }

  /** Stops S3Mock, PostgreSQL and LocalKms; every one is attempted. */
  @Override
  public void close() {
    long t0 = System.nanoTime();
    RuntimeException first = null;
    for (AutoCloseable c : new AutoCloseable[] {s3, postgres, kms}) {
      try {
        c.close();
      } catch (Exception e) {
        if (first == null) {
          first = e instanceof RuntimeException re ? re : new IllegalStateException(e);
        } else {
          first.addSuppressed(e);
        }
      }
    }
    con.kv("stopped S3Mock, PostgreSQL and LocalKms", Console.since(t0));
    if (first != null) {
      throw first;
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception ignored) {
      // best effort while failing
    }
  }
}
