package com.panops.crypto.fleet;

import com.panops.crypto.fleet.FleetMember.Event;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Publishes an event: inserted into {@code panops_fleet_event} and announced with {@code NOTIFY} in
 * one transaction, under an advisory lock that serialises publishers, so that event numbers are
 * committed in order and a reader that has seen event n has seen every event before it.
 */
final class EventPublisher {
  private final FleetMember member;

  EventPublisher(FleetMember member) {
    this.member = member;
  }

  void publish(Connection c, Event e) throws SQLException {
    long wall = member.wallClock.millis();
    byte[] mac =
        member.mac.of(
            "event",
            member.id,
            e.kind(),
            e.arn(),
            e.reason(),
            String.valueOf(e.errorCode()),
            Long.toString(e.basis()),
            Long.toString(wall));
    c.setAutoCommit(false);
    try {
      lockPublishers(c);
      long seq = insert(c, e, wall, mac);
      notifyFleet(c, seq);
      c.commit();
    } catch (SQLException ex) {
      try {
        c.rollback();
      } catch (SQLException ignored) {
        // the connection is dropped by the caller
      }
      throw ex;
    } finally {
      try {
        c.setAutoCommit(true);
      } catch (SQLException ignored) {
        // dropped by the caller on the next failure
      }
    }
  }

  private static void lockPublishers(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(FleetSql.LOCK_PUBLISHERS);
    }
  }

  private long insert(Connection c, Event e, long wall, byte[] mac) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(FleetSql.INSERT_EVENT)) {
      ps.setString(1, member.id);
      ps.setString(2, e.kind());
      ps.setString(3, e.arn());
      ps.setString(4, e.reason());
      ps.setString(5, e.errorCode());
      ps.setLong(6, e.basis());
      ps.setLong(7, wall);
      ps.setBytes(8, mac);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private static void notifyFleet(Connection c, long seq) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(FleetSql.NOTIFY)) {
      ps.setString(1, FleetSql.CHANNEL);
      ps.setString(2, Long.toString(seq));
      ps.execute();
    }
  }
}
