package com.panops.crypto.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Runs the whole walkthrough in this JVM (LocalKms, S3Mock, TLS PostgreSQL) and checks that every
 * expectation held, that the kill switch held within one probe interval plus the margin, and that
 * the library's audit events reconciled one to one with the customer's CloudTrail.
 */
class DemoIT {
  /**
   * How many expectations the demo checks, counted by hand from Walkthrough and
   * DefaultIntervalScenes: a change must say so.
   */
  static final int EXPECTATIONS = 39;

  @Test
  void theKillSwitchWalkthroughHoldsEveryExpectation() {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    Walkthrough.Result r = run(buffer);
    assertHolds(r, buffer.toString(StandardCharsets.UTF_8));
  }

  /** Runs the walkthrough, keeping its output in {@code buffer} and showing it. */
  static Walkthrough.Result run(ByteArrayOutputStream buffer) {
    try (PrintStream out =
        new PrintStream(new Tee(buffer, System.out), true, StandardCharsets.UTF_8)) {
      return Walkthrough.run(out);
    } catch (DemoFailedException e) {
      throw new AssertionError(e.getMessage(), e);
    } catch (Exception e) {
      throw new AssertionError("the walkthrough could not run", e);
    }
  }

  /** What every run of the walkthrough must show. */
  static void assertHolds(Walkthrough.Result r, String output) {
    Duration limit = r.refusalLimit();
    // the limits are derived: at least the interval (refusal) and settle + interval (restore)
    assertTrue(limit.compareTo(Walkthrough.PROBE_INTERVAL) > 0, limit.toString());
    assertTrue(
        r.restoreLimit().compareTo(Walkthrough.SETTLE.plus(Walkthrough.PROBE_INTERVAL)) > 0,
        r.restoreLimit().toString());

    assertEquals(Walkthrough.MESSAGES, r.messagesVerified());
    assertTrue(r.attachmentsVerified() > 0);
    assertTrue(r.ingestDataKeyCalls() <= 6, "data-key calls " + r.ingestDataKeyCalls());
    assertTrue(r.disableToDbRefusal().compareTo(limit) <= 0, r.disableToDbRefusal().toString());
    assertTrue(r.disableToS3Refusal().compareTo(limit) <= 0, r.disableToS3Refusal().toString());
    assertTrue(
        r.enableToService().compareTo(r.restoreLimit()) <= 0, r.enableToService().toString());
    assertTrue(
        r.enableToService().compareTo(Walkthrough.SETTLE) >= 0,
        "restored before the settle time: " + r.enableToService());
    assertEquals(0, r.dataCallsWhileLatched());
    // 2 for the customer's key (disable; schedule deletion -> cancel -> enable), 1 per scene
    assertEquals(5, r.latchedWindows());
    long k = r.fleetKeys();
    long n = Walkthrough.FLEET_INTERVALS;
    assertTrue(r.fleetProbeDecrypts() <= Math.floor(1.1 * k * n), "" + r.fleetProbeDecrypts());
    assertTrue(r.fleetProbeDecrypts() >= k * (n - 1), "" + r.fleetProbeDecrypts());
    assertTrue(r.reconciled(), output);
    assertTrue(r.auditMatched() > 0 && r.auditMatched() <= r.auditEvents());
    assertEquals(0, r.vendorTrailWithoutAudit());

    assertFalse(output.contains("[FAILED]"), output);
    assertEquals(EXPECTATIONS, r.expectationsHeld(), "the number of checks the demo makes");
    assertTrue(output.contains("RESULT: all " + EXPECTATIONS + " expectations held"));
    assertTrue(output.contains("PC001"), output);
    // step 7: the customer's verifier on LocalKms's CloudTrail log files, one cut per latched
    // window
    assertTrue(output.contains("panops-crypto-verify: PASS"), output);
    assertTrue(output.contains(r.latchedWindows() + " cuts, 0 violations"), output);
    assertTrue(output.contains("S3KeyRevokedException"), output);
    assertTrue(output.contains("PENDING_DELETION"), output);
    assertTrue(output.contains("ACCESS_DENIED"), output);
    assertTrue(output.contains("library's default probe settings (5 s interval"), output);
    // never a message body (the corpus's bodies all start with this greeting)
    assertFalse(output.contains("Best regards"), output);
  }

  /** Writes to both streams: the test keeps the output, the console shows it. */
  static final class Tee extends OutputStream {
    private final OutputStream a;
    private final OutputStream b;

    Tee(OutputStream a, OutputStream b) {
      this.a = a;
      this.b = b;
    }

    @Override
    public void write(int c) {
      write(new byte[] {(byte) c}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] buf, int off, int len) {
      try {
        a.write(buf, off, len);
        b.write(buf, off, len);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    @Override
    public void flush() {
      try {
        b.flush();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }
}
