package com.panops.crypto.verify;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;

/**
 * The command line: {@code java -jar panops-crypto-verify-VERSION-cli.jar [options] SOURCE}, where
 * SOURCE is a folder of CloudTrail log files or {@code s3://bucket/prefix}. Prints the text
 * summary; {@code --json} and {@code --html} write the other reports. Exit code: 0 PASS or NO_CUTS,
 * 1 VIOLATION, 3 INCOMPLETE input, 2 bad arguments or an input that cannot be read.
 */
public final class Main {
  static final String USAGE =
      """
      usage: java -jar panops-crypto-verify-cli.jar [options] SOURCE
        SOURCE                     a folder of CloudTrail log files, or s3://BUCKET/PREFIX
        --vendor ARN|ACCOUNT       a vendor principal (repeatable); default: every caller from
                                   another account than the key's
        --propagation-window SEC   successes this long after a cut are not violations (default 60)
        --reorder-window SEC       how far out of order events may be delivered (default 3600)
        --probe-user-agent TEXT    marks a probe's Decrypt (default panops-purpose/probe)
        --audit FILE               the library's audit log (JSON lines) to reconcile (repeatable)
        --json FILE                also write the JSON report (- for standard output)
        --html FILE                also write the HTML report
        --quiet                    no text summary
        --no-progress              no progress bar
        --region REGION            for s3:// (default: the SDK's region chain)
        --s3-endpoint URL          for s3:// (e.g. an S3-compatible store); path-style requests
      exit code: 0 PASS or NO_CUTS, 1 VIOLATION, 3 INCOMPLETE input, 2 usage or unreadable input
      """;

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err, System.console() != null));
  }

  /**
   * Runs the command as {@code java -jar} would, writing to {@code out} and {@code err} (no
   * progress bar) and returning the exit code instead of exiting: for embedding the verifier in
   * another program (the demo does).
   */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, false);
  }

  /** Runs the command; returns its exit code. */
  static int run(String[] args, PrintStream out, PrintStream err, boolean terminal) {
    Options o;
    try {
      o = Options.parse(args);
    } catch (IllegalArgumentException e) {
      err.println("panops-crypto-verify: " + e.getMessage());
      err.print(USAGE);
      return 2;
    }
    if (o.help) {
      out.print(USAGE);
      return 0;
    }
    try (S3Client s3 = o.source.startsWith("s3://") ? s3(o) : null) {
      TrailVerifier.Builder b =
          TrailVerifier.builder()
              .propagationWindow(o.propagationWindow)
              .reorderWindow(o.reorderWindow)
              .probeUserAgent(o.probeUserAgent);
      o.vendors.forEach(b::vendorPrincipal);
      o.audit.forEach(b::auditLog);
      if (terminal && o.progress) {
        b.progress(new ProgressBar(err));
      }
      VerificationReport r = b.build().verify(source(o, s3));
      write(o, r, out);
      return r.verdict().exitCode();
    } catch (IllegalArgumentException | UncheckedIOException e) {
      err.println("panops-crypto-verify: " + TextReport.safe(e.getMessage()));
      return 2;
    } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
      // never exit 1 (the code of a violation) for a failure of the verifier itself
      err.println("panops-crypto-verify: failed: " + e.getClass().getName());
      return 2;
    } catch (IOException e) {
      err.println("panops-crypto-verify: cannot write a report: " + e.getMessage());
      return 2;
    }
  }

  private static TrailSource source(Options o, S3Client s3) {
    if (s3 == null) {
      return TrailSource.folder(Path.of(o.source));
    }
    String rest = o.source.substring("s3://".length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    if (bucket.isEmpty()) {
      throw new IllegalArgumentException("no bucket in " + o.source);
    }
    return TrailSource.s3(s3, bucket, slash < 0 ? "" : rest.substring(slash + 1));
  }

  private static S3Client s3(Options o) {
    S3ClientBuilder b = S3Client.builder().httpClient(Apache5HttpClient.create());
    if (o.region != null) {
      b.region(Region.of(o.region));
    }
    if (o.s3Endpoint != null) {
      b.endpointOverride(URI.create(o.s3Endpoint)).forcePathStyle(true);
    }
    return b.build();
  }

  private static void write(Options o, VerificationReport r, PrintStream out) throws IOException {
    if (!o.quiet) {
      out.print(r.toText());
    }
    if ("-".equals(o.json)) {
      out.println(r.toJson());
    } else if (o.json != null) {
      Files.writeString(Path.of(o.json), r.toJson(), StandardCharsets.UTF_8);
    }
    if (o.html != null) {
      try (Writer w = Files.newBufferedWriter(Path.of(o.html), StandardCharsets.UTF_8)) {
        r.writeHtml(w);
      }
      if (!o.quiet) {
        out.println("HTML report: " + Path.of(o.html).toAbsolutePath());
      }
    }
  }

  /** The parsed arguments. */
  static final class Options {
    String source;
    List<String> vendors = new java.util.ArrayList<>();
    List<Path> audit = new java.util.ArrayList<>();
    Duration propagationWindow = Duration.ofMinutes(1);
    Duration reorderWindow = Duration.ofHours(1);
    String probeUserAgent = "panops-purpose/probe";
    String json;
    String html;
    String region;
    String s3Endpoint;
    boolean quiet;
    boolean progress = true;
    boolean help;

    static Options parse(String[] args) {
      Options o = new Options();
      Deque<String> a = new ArrayDeque<>(List.of(args));
      while (!a.isEmpty()) {
        String arg = a.poll();
        switch (arg) {
          case "--help", "-h" -> o.help = true;
          case "--vendor" -> o.vendors.add(value(a, arg));
          case "--audit" -> o.audit.add(Path.of(value(a, arg)));
          case "--propagation-window" -> o.propagationWindow = seconds(value(a, arg), arg);
          case "--reorder-window" -> o.reorderWindow = seconds(value(a, arg), arg);
          case "--probe-user-agent" -> o.probeUserAgent = value(a, arg);
          case "--json" -> o.json = value(a, arg);
          case "--html" -> o.html = value(a, arg);
          case "--region" -> o.region = value(a, arg);
          case "--s3-endpoint" -> o.s3Endpoint = value(a, arg);
          case "--quiet" -> o.quiet = true;
          case "--no-progress" -> o.progress = false;
          default -> {
            if (arg.startsWith("--") || o.source != null) {
              throw new IllegalArgumentException("unexpected argument: " + arg);
            }
            o.source = arg;
          }
        }
      }
      if (o.source == null && !o.help) {
        throw new IllegalArgumentException("no SOURCE given");
      }
      return o;
    }

    private static String value(Deque<String> a, String option) {
      String v = a.poll();
      if (v == null) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return v;
    }

    private static Duration seconds(String v, String option) {
      try {
        double s = Double.parseDouble(v);
        if (!(s >= 0) || Double.isInfinite(s)) {
          throw new NumberFormatException();
        }
        return Duration.ofNanos((long) (s * 1e9));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(option + " needs a number of seconds, not " + v);
      }
    }
  }

  /** A one-line progress bar on the terminal's standard error. */
  private static final class ProgressBar implements TrailVerifier.Progress {
    private final PrintStream err;

    ProgressBar(PrintStream err) {
      this.err = err;
    }

    @Override
    public void update(int filesDone, int files, long bytesDone, long bytes) {
      int width = 30;
      int filled = files == 0 ? width : (int) ((long) width * filesDone / files);
      err.printf(
          Locale.ROOT,
          "\r[%s%s] %d/%d files, %.1f MB",
          "#".repeat(filled),
          " ".repeat(width - filled),
          filesDone,
          files,
          bytesDone / 1e6);
      if (filesDone == files) {
        err.println();
      }
      err.flush();
    }
  }
}
