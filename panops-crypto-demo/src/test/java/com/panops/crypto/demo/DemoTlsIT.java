package com.panops.crypto.demo;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The walkthrough's TLS checks against a real PostgreSQL configured as the demo's (TLS only, also
 * listening on {@value DemoTls#OTHER_LOOPBACK}), through pgjdbc: with the demo's attempts they
 * hold; with a broken configuration (the server's own CA where another was meant, verify-ca where
 * verify-full was meant, a server not listening on the other address) they fail.
 */
class DemoTlsIT {
  static TlsPostgres pg;

  @BeforeAll
  static void start() {
    pg =
        TlsPostgres.builder()
            .serverConfig("listen_addresses", "localhost," + DemoTls.OTHER_LOOPBACK)
            .start();
  }

  @AfterAll
  static void stop() {
    pg.close();
  }

  /**
   * The wrong-host check of an attempt meant as verify-full to the host, against the chain-only
   * attempt to it; both trust the server's CA.
   */
  private static Checks.Verdict wrongHostRefused(DemoTls.Attempt asVerifyFull, String host) {
    return Checks.wrongHostRefused(
        asVerifyFull, DemoTls.attempt(DemoTls.verifyCaOnly(pg, host, pg.caCertificateFile())));
  }

  @Test
  void theDemosAttempts_holdAgainstTheDemosServer(@TempDir Path dir) {
    Path ca = pg.caCertificateFile();
    DemoTls.Attempt good = DemoTls.attempt(DemoTls.verifyFull(pg, "localhost", ca));
    assertTrue(good.connected(), good.toString());
    Checks.Verdict wrongCa =
        Checks.wrongCaRefused(
            DemoTls.attempt(DemoTls.verifyFull(pg, "localhost", DemoTls.otherRootCa(dir))));
    assertTrue(wrongCa.ok(), wrongCa.measured());
    Checks.Verdict wrongHost =
        wrongHostRefused(
            DemoTls.attempt(DemoTls.verifyFull(pg, DemoTls.OTHER_LOOPBACK, ca)),
            DemoTls.OTHER_LOOPBACK);
    assertTrue(wrongHost.ok(), wrongHost.measured());
  }

  @Test
  void theWrongCaCheck_failsWhenTheAttemptTrustsTheServersCa() {
    // broken: the "other" CA file is the server's own: the session connects
    Checks.Verdict v =
        Checks.wrongCaRefused(
            DemoTls.attempt(DemoTls.verifyFull(pg, "localhost", pg.caCertificateFile())));
    assertFalse(v.ok(), v.measured());
    assertTrue(ChecksTest.demoFails(v));
  }

  @Test
  void theWrongHostCheck_failsWhenTheHostNameIsNotChecked() {
    Path ca = pg.caCertificateFile();
    // broken: the "verify-full" attempt checks the chain only (as sslmode=verify-ca does)
    Checks.Verdict v =
        wrongHostRefused(
            DemoTls.attempt(DemoTls.verifyCaOnly(pg, DemoTls.OTHER_LOOPBACK, ca)),
            DemoTls.OTHER_LOOPBACK);
    assertFalse(v.ok(), v.measured());
    assertTrue(ChecksTest.demoFails(v));
  }

  @Test
  void theWrongHostCheck_failsWhenTheRefusalIsNotTheNamesFault() {
    Path ca = pg.caCertificateFile();
    // broken: verify-full to an address nobody listens on is refused too, but so is the
    // session without the name check: the refusal says nothing about host names
    Checks.Verdict v =
        wrongHostRefused(DemoTls.attempt(DemoTls.verifyFull(pg, "127.0.0.3", ca)), "127.0.0.3");
    assertFalse(v.ok(), v.measured());
  }
}
