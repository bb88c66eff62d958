package com.panops.crypto.fleet;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener thread: a dedicated {@code LISTEN} connection (opened from the DataSource directly,
 * never from a pool) that wakes on {@code NOTIFY} and reads the event table at least every quarter
 * interval, so a notification lost in a reconnect is never lost as an event. Listener thread only.
 */
final class ListenLoop implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresProbeCoordinator.class);

  private final DataSource dataSource;
  private final FleetMember member;
  private final FleetTiming timing;
  private final Sleeper sleeper;
  private final EventReader reader;
  private Connection listen;

  ListenLoop(DataSource dataSource, FleetMember member, FleetTiming timing, Sleeper sleeper) {
    this.dataSource = dataSource;
    this.member = member;
    this.timing = timing;
    this.sleeper = sleeper;
    this.reader = new EventReader(member);
  }

  @Override
  public void run() {
    while (!member.closed) {
      try {
        if (listen == null) {
          listen = connect();
        }
        PGConnection pg = listen.unwrap(PGConnection.class);
        pg.getNotifications((int) timing.heartbeatMs()); // wakes early on NOTIFY
        reader.readEvents(listen); // also the liveness check of this connection, and the catch-up
        member.listenWorked();
      } catch (Exception e) {
        if (member.closed) {
          break;
        }
        LOG.warn(
            "fleet coordinator {}: LISTEN connection lost ({}); probing locally",
            member.id,
            FleetConnections.describe(e));
        FleetConnections.closeQuietly(listen);
        listen = null;
        try {
          sleeper.sleep(timing.heartbeatMs());
        } catch (InterruptedException ie) {
          break;
        }
      }
    }
    FleetConnections.closeQuietly(listen);
    listen = null;
  }

  private Connection connect() throws SQLException {
    Connection c = FleetConnections.open(dataSource, timing);
    try (Statement s = c.createStatement()) {
      s.execute(FleetSql.LISTEN);
      return c;
    } catch (SQLException e) {
      FleetConnections.closeQuietly(c);
      throw e;
    }
  }
}
