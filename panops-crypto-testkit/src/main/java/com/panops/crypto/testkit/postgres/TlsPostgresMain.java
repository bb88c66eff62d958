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
    Options options = parse(args);
    if (options.help) {
      usage(System.out);
      return;
    }
    TlsPostgres pg = options.builder.start();
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
    if (options.caCopy != null) {
      if (options.caCopy.getParent() != null) {
        Files.createDirectories(options.caCopy.getParent());
      }
      Files.copy(ca, options.caCopy, StandardCopyOption.REPLACE_EXISTING);
      ca = options.caCopy;
    }
    printConnection(System.out, pg, ca);
    stopped.await();
  }

  /** The command line's settings; {@code help} if the usage was asked for. */
  private static final class Options {
    final TlsPostgres.Builder builder = TlsPostgres.builder();
    Path caCopy;
    boolean help;
  }

  /** Reads the arguments up to the first {@code --help}; exits (2) on an unknown one. */
  private static Options parse(String[] args) {
    Options o = new Options();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> {
          int port = Integer.parseInt(value(args, ++i, "--port"));
          if (port != 0) { // 0: a free port, as without --port
            o.builder.port(port);
          }
        }
        case "--ca-file" -> o.caCopy = Path.of(value(args, ++i, "--ca-file")).toAbsolutePath();
        case "--work-dir" -> o.builder.workDirectory(Path.of(value(args, ++i, "--work-dir")));
        case "--allow-plaintext" -> o.builder.allowPlaintextSessions();
        case "--help", "-h" -> {
          o.help = true;
          return o;
        }
        default -> {
          System.err.println("Unknown argument: " + args[i]);
          usage(System.err);
          System.exit(2);
        }
      }
    }
    return o;
  }

  private static void printConnection(PrintStream out, TlsPostgres pg, Path ca) {
    String url =
        "jdbc:postgresql://localhost:"
            + pg.port()
            + "/postgres?sslmode=verify-full&sslrootcert="
            + ca;
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
