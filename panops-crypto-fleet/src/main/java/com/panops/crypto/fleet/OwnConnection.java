package com.panops.crypto.fleet;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One of the coordinator's dedicated connections (the writer's or the listener's), used by one
 * thread: opened on first use and set up, dropped on a failure (closed and forgotten, with a
 * warning unless the member is closing), and opened anew on the next use.
 */
final class OwnConnection {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresProbeCoordinator.class);

  /** What a new connection needs before its first use. */
  @FunctionalInterface
  interface Setup {
    void prepare(Connection c) throws SQLException;
  }

  private final DataSource dataSource;
  private final FleetMember member;
  private final FleetTiming timing;
  private final Setup setup;
  private Connection connection;

  OwnConnection(DataSource dataSource, FleetMember member, FleetTiming timing, Setup setup) {
    this.dataSource = dataSource;
    this.member = member;
    this.timing = timing;
    this.setup = setup;
  }

  /** The open connection, or a new one (set up; closed again if that fails). */
  Connection get() throws SQLException {
    if (connection == null) {
      Connection c = FleetConnections.open(dataSource, timing);
      try {
        setup.prepare(c);
      } catch (SQLException e) {
        FleetConnections.closeQuietly(c);
        throw e;
      }
      connection = c;
    }
    return connection;
  }

  /** The open connection, or null if there is none. */
  Connection current() {
    return connection;
  }

  /** After a failure: warns that the member is {@code lost} (unless it is closing) and drops it. */
  void drop(Exception e, String lost) {
    if (!member.closed) {
      LOG.warn(
          "fleet coordinator {}: {} ({}); probing locally",
          member.id,
          lost,
          FleetConnections.describe(e));
    }
    close();
  }

  /** Closes the connection, if any; the next {@link #get} opens a new one. */
  void close() {
    FleetConnections.closeQuietly(connection);
    connection = null;
  }
}
