package com.panops.crypto.demo;

import com.panops.crypto.RevocationEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * worker-1's revocation listener: prints each event as it comes (>>) and keeps it with the moment
 * it arrived, so the kill switch can time the library's REVOKED and RESTORED events.
 */
final class Revocations {
  /** An event and when it arrived ({@link System#nanoTime()}). */
  record Observed(RevocationEvent event, long nanos) {}

  private final Console con;
  private final List<Observed> events = new CopyOnWriteArrayList<>();

  Revocations(Console con) {
    this.con = con;
  }

  /** The listener (called on the probe thread). */
  void onRevocation(RevocationEvent e) {
    events.add(new Observed(e, System.nanoTime()));
    con.line(
        ">> RevocationListener: key "
            + e.kind()
            + (e.reason() == null
                ? ""
                : ", reason " + e.reason() + " (KMS answered " + e.errorCode() + ")")
            + "   ["
            + con.clock()
            + "]");
  }

  /** The first event of {@code kind} since {@code after}, waiting up to 2 s for it; or null. */
  Observed first(RevocationEvent.Kind kind, long after) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
    while (true) {
      for (Observed o : events) {
        if (o.event().kind() == kind && o.nanos() >= after) {
          return o;
        }
      }
      if (System.nanoTime() > deadline) {
        return null;
      }
      Thread.sleep(10);
    }
  }
}
