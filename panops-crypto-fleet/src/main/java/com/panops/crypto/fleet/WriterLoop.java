package com.panops.crypto.fleet;

import com.panops.crypto.fleet.FleetMember.Event;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker thread's work, every quarter interval: this member's heartbeat (its interest and
 * attestation, authenticated), the events waiting to be published, then the poll of the other
 * members. Any failure drops the connection; the next tick opens a new one. Worker thread only.
 */
final class WriterLoop {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresProbeCoordinator.class);

  private final FleetMember member;
  private final FleetTiming timing;
  private final EventPublisher publisher;
  private final MemberPoll poll;
  private final OwnConnection writer;
  private long heartbeatSeq;

  WriterLoop(DataSource dataSource, FleetMember member, FleetTiming timing) {
    this.member = member;
    this.timing = timing;
    this.publisher = new EventPublisher(member);
    this.poll = new MemberPoll(member, timing);
    this.writer = new OwnConnection(member, () -> open(dataSource, member, timing));
  }

  void tick() {
    if (member.closed) {
      return;
    }
    try {
      Connection c = writer.get();
      member.own.expire(member.ticker.read(), timing.intervalMs());
      heartbeat(c);
      member.heartbeatWorked();
      flushOutbox();
      poll.poll(c);
      member.pollWorked();
    } catch (Exception e) {
      writer.drop(e, "database unavailable");
    }
  }

  /** Publishes the waiting events in order; on a failure the rest wait for the next heartbeat. */
  void flushOutbox() {
    if (member.closed) {
      return;
    }
    Event e;
    while ((e = member.outbox.peek()) != null) {
      try {
        publisher.publish(writer.get(), e);
        member.outbox.poll();
        member.published.incrementAndGet();
      } catch (Exception ex) {
        writer.drop(ex, "database unavailable");
        return;
      }
    }
  }

  /** Deletes this member's row (best effort) and disconnects. */
  void leave() {
    try {
      Connection c = writer.current();
      if (c != null) {
        try (PreparedStatement ps = c.prepareStatement(FleetSql.DELETE_MEMBER)) {
          ps.setString(1, member.id);
          ps.executeUpdate();
        }
      }
    } catch (SQLException e) {
      LOG.debug("leaving the fleet failed: {}", e.getSQLState());
    } finally {
      writer.close();
    }
  }

  /** A new writer connection; the first heartbeat on it writes the interest too. */
  private static Connection open(DataSource dataSource, FleetMember member, FleetTiming timing)
      throws SQLException {
    Connection c = FleetConnections.open(dataSource, timing);
    member.own.interestChanged();
    return c;
  }

  /** Upserts this member's row; the interest is written only when it changed. */
  private void heartbeat(Connection c) throws SQLException {
    boolean sendInterest = member.own.takeInterestChanged();
    long now = member.ticker.read();
    long wall = member.wallClock.millis();
    String attestText = member.own.attestation(now);
    long seq = ++heartbeatSeq;
    byte[] mac =
        member.mac.of("member", member.id, Long.toString(seq), Long.toString(wall), attestText);
    long version = sendInterest ? member.own.nextInterestVersion() : member.own.interestVersion();
    String[] keys = member.own.sortedInterest();
    try (PreparedStatement ps = c.prepareStatement(FleetSql.UPSERT_MEMBER)) {
      ps.setString(1, member.id);
      ps.setLong(2, seq);
      ps.setLong(3, wall);
      ps.setString(4, attestText);
      ps.setBytes(5, mac);
      Array arr = c.createArrayOf("text", sendInterest ? keys : new String[0]);
      ps.setArray(6, arr);
      ps.setLong(7, version);
      ps.setBoolean(8, sendInterest);
      ps.setBoolean(9, sendInterest);
      ps.executeUpdate();
    } catch (SQLException e) {
      if (sendInterest) {
        member.own.interestChanged();
      }
      throw e;
    }
    member.heartbeats.incrementAndGet();
  }
}
