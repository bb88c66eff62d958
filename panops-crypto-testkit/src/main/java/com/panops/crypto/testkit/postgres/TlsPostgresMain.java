package com.panops.crypto.testkit.postgres;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CountDownLatch;

/**
 * Runs {@link TlsPostgres} from the command line until killed: {@code TlsPostgresMain [--port N]
 * [--ca-file PATH] [--work-dir DIR] [--allow-plaintext]}. Prints the host, port, user, the JDBC URL
 * for {@code sslmode=verify-full} and the CA certificate file it names, and a {@code psql} command
 * line. The server's files are deleted when it stops (Ctrl-C); a {@code --ca-file} copy stays.
 */
public final class TlsPostgresMain {

  private TlsPostgresMain() {}

  public static void main(String[] args) throws InterruptedException, IOException {
    TlsPostgres.Builder builder = TlsPostgres.builder();
    Path caCopy = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> {
          int port = Integer.parseInt(value(args, ++i, "--port"));
          if (port != 0) { // 0: a free port, as without --port
            builder.port(port);
          }
        }
        case "--ca-file" -> caCopy = Path.of(value(args, ++i, "--ca-file")).toAbsolutePath();
        case "--work-dir" -> builder.workDirectory(Path.of(value(args, ++i, "--work-dir")));
        case "--allow-plaintext" -> builder.allowPlaintextSessions();
        case "--help", "-h" -> {
          usage(System.out);
          return;
        }
        default -> {
          System.err.println("Unknown argument: " + args[i]);
          usage(System.err);
          System.exit(2);
        }
      }
    }
    TlsPostgres pg = builder.start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  pg.close();
                  stopped.countDown();
                },
                "tls-postgres-shutdown"));
    Path ca = pg.caCertificateFile();
    if (caCopy != null) {
      if (caCopy.getParent() != null) {
        Files.createDirectories(caCopy.getParent());
      }
      Files.copy(ca, caCopy, StandardCopyOption.REPLACE_EXISTING);
      ca = caCopy;
    }
    String url =
        "jdbc:postgresql://localhost:"
            + pg.port()
            + "/postgres?sslmode=verify-full&sslrootcert="
            + ca;
    PrintStream out = System.out;
    out.println("PostgreSQL 16 with TLS is running (a test server: trust authentication).");
    out.println("host:      localhost (127.0.0.1, ::1)");
    out.println("port:      " + pg.port());
    out.println("user:      " + pg.user() + " (no password)");
    out.println("jdbc url:  " + url);
    out.println("ca file:   " + ca);
    out.println(
        "psql:      psql \"host=localhost port="
            + pg.port()
            + " user="
            + pg.user()
            + " dbname=postgres sslmode=verify-full sslrootcert="
            + ca
            + "\"");
    out.println("Stop with Ctrl-C.");
    out.flush();
    stopped.await();
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      System.err.println(flag + " needs a value");
      usage(System.err);
      System.exit(2);
    }
    return args[i];
  }

  private static void usage(PrintStream out) {
    out.println(
        "usage: TlsPostgresMain [--port N] [--ca-file PATH] [--work-dir DIR] [--allow-plaintext]");
    out.println("  --port N           listen on localhost:N (default, or 0: a free port)");
    out.println("  --ca-file PATH     also write the test CA's certificate (PEM) to PATH");
    out.println("  --work-dir DIR     put the server's files under DIR (default: the temp dir)");
    out.println("  --allow-plaintext  also accept plaintext sessions (default: TLS only)");
  }
}
