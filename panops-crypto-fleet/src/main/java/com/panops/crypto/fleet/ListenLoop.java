package com.panops.crypto.fleet;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.postgresql.PGConnection;

/**
 * The listener thread: a dedicated {@code LISTEN} connection (opened from the DataSource directly,
 * never from a pool) that wakes on {@code NOTIFY} and reads the event table at least every quarter
 * interval, so a notification lost in a reconnect is never lost as an event. Listener thread only.
 */
final class ListenLoop implements Runnable {
  private final FleetMember member;
  private final FleetTiming timing;
  private final Sleeper sleeper;
  private final EventReader reader;
  private final OwnConnection listen;

  ListenLoop(DataSource dataSource, FleetMember member, FleetTiming timing, Sleeper sleeper) {
    this.member = member;
    this.timing = timing;
    this.sleeper = sleeper;
    this.reader = new EventReader(member);
    this.listen =
        new OwnConnection(member, () -> listening(FleetConnections.open(dataSource, timing)));
  }

  @Override
  public void run() {
    while (!member.closed) {
      try {
        Connection c = listen.get();
        PGConnection pg = c.unwrap(PGConnection.class);
        pg.getNotifications((int) timing.heartbeatMs()); // wakes early on NOTIFY
        reader.readEvents(c); // also the liveness check of this connection, and the catch-up
        member.listenWorked();
      } catch (Exception e) {
        if (member.closed) {
          break;
        }
        listen.drop(e, "LISTEN connection lost");
        try {
          sleeper.sleep(timing.heartbeatMs());
        } catch (InterruptedException ie) {
          break;
        }
      }
    }
    listen.close();
  }

  /** {@code c}, listening for the fleet's notifications (closed if that fails). */
  private static Connection listening(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(FleetSql.LISTEN);
      return c;
    } catch (SQLException e) {
      FleetConnections.closeQuietly(c);
      throw e;
    }
  }
}
