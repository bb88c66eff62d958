package com.panops.crypto.demo;

import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.verify.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The last step: the customer runs panops-crypto-verify on the CloudTrail log files LocalKms
 * delivered during the run (in CloudTrail's own layout) and reads, per key and per cut, how long
 * the vendor took to go dark. The demo prints the verifier's summary and writes its HTML report.
 */
final class CustomerVerifier {
  /**
   * KMS's propagation as the demo's LocalKms models it is far shorter; the verifier's default (one
   * minute) would hide nothing here either, but a tighter window checks more.
   */
  static final String PROPAGATION_WINDOW_SECONDS = "10";

  private CustomerVerifier() {}

  /** Runs the verifier's command line on {@code trail}; returns its exit code. */
  static int run(Console con, Checks checks, Path trail) {
    con.step(7, "The customer verifies the kill switch on their own CloudTrail");
    con.line("LocalKms delivered its trail as CloudTrail does (gzipped JSON files under");
    con.line("AWSLogs/<account>/CloudTrail/<region>/yyyy/mm/dd/). The customer runs the verifier");
    con.line("on those files, with nothing of the vendor's but its role's ARN:");
    Path html = trail.resolveSibling("panops-crypto-verify-report.html");
    String[] args = {
      "--vendor",
      LocalKms.VENDOR_ROLE_ARN,
      "--propagation-window",
      PROPAGATION_WINDOW_SECONDS,
      "--html",
      html.toString(),
      trail.toString()
    };
    con.line("  java -jar panops-crypto-verify-cli.jar " + String.join(" ", args));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Main.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    con.blank();
    out.toString(StandardCharsets.UTF_8).lines().forEach(con::raw);
    err.toString(StandardCharsets.UTF_8).lines().forEach(con::raw);
    con.blank();
    checks.expect(
        "the customer's own trail shows every cut going dark, and no violation",
        code == 0 && out.toString(StandardCharsets.UTF_8).startsWith("panops-crypto-verify: PASS"),
        "exit code " + code);
    return code;
  }
}
