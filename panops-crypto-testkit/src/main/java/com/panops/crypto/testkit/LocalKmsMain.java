package com.panops.crypto.testkit;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Runs LocalKms from the command line until killed: {@code LocalKmsMain [--port N] [--trail-file
 * PATH] [--cloudtrail-dir DIR]}. Prints the endpoint, region, the test credentials of the admin and
 * vendor principals, and the ARN of one demo key (created with the seed's key policy).
 */
public final class LocalKmsMain {

  private LocalKmsMain() {}

  public static void main(String[] args) throws InterruptedException {
    LocalKms.Builder builder = LocalKms.builder();
    Path trailFile = null;
    Path cloudTrailDir = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port":
          builder.port(Integer.parseInt(value(args, ++i, "--port")));
          break;
        case "--trail-file":
          trailFile = Path.of(value(args, ++i, "--trail-file")).toAbsolutePath();
          builder.trailFile(trailFile);
          break;
        case "--cloudtrail-dir":
          cloudTrailDir = Path.of(value(args, ++i, "--cloudtrail-dir")).toAbsolutePath();
          builder.cloudTrailDirectory(cloudTrailDir);
          break;
        case "--help":
        case "-h":
          usage(System.out);
          return;
        default:
          System.err.println("Unknown argument: " + args[i]);
          usage(System.err);
          System.exit(2);
      }
    }
    LocalKms kms = builder.start();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  kms.close();
                  stopped.countDown();
                },
                "local-kms-shutdown"));
    String keyArn = kms.createKey("LocalKms demo key");
    PrintStream out = System.out;
    out.println("LocalKms is running (test credentials only; never use real ones here).");
    out.println("endpoint:          " + kms.endpoint());
    out.println("region:            " + kms.region());
    out.println("admin principal:   " + kms.admin().arn());
    out.println("admin access key:  " + kms.admin().accessKeyId());
    out.println("admin secret key:  " + kms.admin().secretAccessKey());
    out.println("vendor principal:  " + kms.vendor().arn());
    out.println("vendor access key: " + kms.vendor().accessKeyId());
    out.println("vendor secret key: " + kms.vendor().secretAccessKey());
    out.println("demo key:          " + keyArn);
    out.println("trail file:        " + (trailFile == null ? "(in memory only)" : trailFile));
    out.println("cloudtrail dir:    " + (cloudTrailDir == null ? "(none)" : cloudTrailDir));
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
    out.println("usage: LocalKmsMain [--port N] [--trail-file PATH] [--cloudtrail-dir DIR]");
    out.println("  --port N           listen on 127.0.0.1:N (default: a free port)");
    out.println("  --trail-file PATH  append every request as one JSON line to PATH");
    out.println("  --cloudtrail-dir DIR  deliver CloudTrail log files under DIR/AWSLogs/...");
  }
}
