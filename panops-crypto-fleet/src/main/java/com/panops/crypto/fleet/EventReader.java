package com.panops.crypto.fleet;

import com.panops.crypto.ProbeCoordinator.Fleet;
import com.panops.crypto.RevocationReason;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the events published since the last one seen and hands their verdicts to the engine. A
 * revocation, authenticated or not, can only make this worker stricter; a restore counts only if
 * authenticated and if its publisher had seen every revocation of the key seen here. Listener
 * thread only.
 */
final class EventReader {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresProbeCoordinator.class);

  /** One row of {@code panops_fleet_event}. */
  private record EventRow(
      long seq,
      String member,
      String kind,
      String arn,
      String reason,
      String errorCode,
      long basis,
      long written,
      byte[] mac) {}

  private final FleetMember member;

  /** The last revocation of each key seen, used here or not. */
  private final ConcurrentHashMap<String, Long> lastRevokeSeq = new ConcurrentHashMap<>();

  EventReader(FleetMember member) {
    this.member = member;
  }

  void readEvents(Connection c) throws SQLException {
    long seen = member.lastSeenSeq.get();
    if (seen < 0) {
      // First connection: events before this worker started are history.
      member.lastSeenSeq.set(maxSeq(c));
      return;
    }
    if (readEventsAfter(c, seen) == 0) {
      long max = maxSeq(c);
      if (max < seen) {
        member.lastSeenSeq.set(max); // the table was recreated: follow it
      }
    }
  }

  private int readEventsAfter(Connection c, long seen) throws SQLException {
    int n = 0;
    try (PreparedStatement ps = c.prepareStatement(FleetSql.SELECT_EVENTS_AFTER)) {
      ps.setLong(1, seen);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          n++;
          EventRow row =
              new EventRow(
                  rs.getLong(1),
                  rs.getString(2),
                  rs.getString(3),
                  rs.getString(4),
                  rs.getString(5),
                  rs.getString(6),
                  rs.getLong(7),
                  rs.getLong(8),
                  rs.getBytes(9));
          deliver(row);
          member.lastSeenSeq.set(row.seq());
        }
      }
    }
    return n;
  }

  private static long maxSeq(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(FleetSql.MAX_EVENT_SEQ)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private void deliver(EventRow e) {
    Fleet f = member.fleet;
    if (f == null || member.closed || e.member().equals(member.id)) {
      return;
    }
    if (!member.own.uses(e.arn())) {
      // Not used here now; if it is used later, its first KMS call decides.
      if ("revoked".equals(e.kind())) {
        lastRevokeSeq.merge(e.arn(), e.seq(), Math::max);
      }
      return;
    }
    if ("restored".equals(e.kind())) {
      restore(f, e);
      return;
    }
    // Anything else is a revocation, authenticated or not: it can only make this worker stricter.
    lastRevokeSeq.merge(e.arn(), e.seq(), Math::max);
    member.own.forgetAlive(e.arn());
    RevocationReason r;
    try {
      r = RevocationReason.valueOf(e.reason());
    } catch (RuntimeException ex) {
      r = RevocationReason.OTHER;
    }
    f.revoked(e.arn(), r, e.errorCode());
  }

  private void restore(Fleet f, EventRow e) {
    if (!member.mac.verifies(
        e.mac(),
        "event",
        e.member(),
        e.kind(),
        e.arn(),
        e.reason(),
        String.valueOf(e.errorCode()),
        Long.toString(e.basis()),
        Long.toString(e.written()))) {
      LOG.warn("fleet coordinator {}: unauthenticated restore of {} ignored", member.id, e.arn());
      return;
    }
    if (e.basis() < lastRevokeSeq.getOrDefault(e.arn(), 0L)) {
      return; // the restorer had not seen a later revocation: it lifts nothing here
    }
    f.restored(e.arn());
  }
}
