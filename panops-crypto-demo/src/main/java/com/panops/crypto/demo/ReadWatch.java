package com.panops.crypto.demo;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.jdbc.SqlStates;
import com.panops.crypto.s3.S3KeyRevokedException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads in a loop after a customer action (a DB row and the smallest S3 object, and in the fleet
 * each other worker's warm value) until they are refused, or served again, and says when.
 */
final class ReadWatch {

  /** When reads stopped (or resumed) after a customer action, and what they said. */
  record Outcome(
      Duration db,
      Duration s3,
      SQLException dbError,
      S3KeyRevokedException s3Error,
      int served,
      Map<String, Duration> fleet) {
    Duration later() {
      if (db == null || s3 == null) {
        return null;
      }
      return db.compareTo(s3) >= 0 ? db : s3;
    }
  }

  private final Mailbox box;
  private final Fleet fleet;

  ReadWatch(Mailbox box, Fleet fleet) {
    this.box = box;
    this.fleet = fleet;
  }

  /** The reason a refused read gave, or null. */
  static RevocationReason reasonOf(SQLException e) {
    return e.getCause() instanceof KeyRevokedException k ? k.reason() : null;
  }

  /**
   * Reads (a DB row and an S3 object) every {@link Limits#POLL} until both are refused as revoked,
   * and every other worker of the fleet too.
   */
  Outcome awaitRefused(long since, Duration max) throws InterruptedException {
    long deadline = since + max.toNanos();
    Duration db = null;
    Duration s3d = null;
    SQLException dbError = null;
    S3KeyRevokedException s3Error = null;
    int served = 0;
    int i = 0;
    Map<String, Duration> fleetRefused = new TreeMap<>();
    while ((db == null || s3d == null || fleetRefused.size() < fleet.others())
        && System.nanoTime() < deadline) {
      fleet.recordRefusals(fleetRefused, since);
      boolean both = true;
      if (db == null) {
        try {
          box.readMessage(i++);
        } catch (SQLException e) {
          both = false;
          if (SqlStates.KEY_REVOKED.equals(e.getSQLState())) {
            db = Duration.ofNanos(System.nanoTime() - since);
            dbError = e;
          }
        }
      }
      if (s3d == null) {
        try {
          box.getObject(box.smallest);
        } catch (S3KeyRevokedException e) {
          both = false;
          s3d = Duration.ofNanos(System.nanoTime() - since);
          s3Error = e;
        }
      }
      if (both && db == null && s3d == null) {
        served++;
      }
      if (db == null || s3d == null || fleetRefused.size() < fleet.others()) {
        Thread.sleep(Limits.POLL.toMillis());
      }
    }
    return new Outcome(db, s3d, dbError, s3Error, served, fleetRefused);
  }

  /** Reads every 20 ms until a DB read and an S3 GET have both succeeded. */
  Outcome awaitServed(long since, Duration max) throws InterruptedException {
    long deadline = since + max.toNanos();
    Duration db = null;
    Duration s3d = null;
    int i = 0;
    while ((db == null || s3d == null) && System.nanoTime() < deadline) {
      if (db == null) {
        try {
          box.readMessage(i++);
          db = Duration.ofNanos(System.nanoTime() - since);
        } catch (SQLException stillRefused) {
          // latched until a probe succeeds
        }
      }
      if (s3d == null) {
        try {
          box.getObject(box.smallest);
          s3d = Duration.ofNanos(System.nanoTime() - since);
        } catch (S3KeyRevokedException stillRefused) {
          // latched until a probe succeeds
        }
      }
      if (db == null || s3d == null) {
        Thread.sleep(20);
      }
    }
    return new Outcome(db, s3d, null, null, 0, Map.of());
  }

  /** Reads until a DB read is refused with {@code reason}; the time, or null. */
  Duration awaitDbReason(long since, RevocationReason reason, Duration max)
      throws InterruptedException {
    long deadline = since + max.toNanos();
    while (System.nanoTime() < deadline) {
      try {
        box.readMessage(0);
        return null; // served: the key is not revoked at all
      } catch (SQLException e) {
        if (reasonOf(e) == reason) {
          return Duration.ofNanos(System.nanoTime() - since);
        }
      }
      Thread.sleep(20);
    }
    return null;
  }
}
