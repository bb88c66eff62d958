package com.panops.crypto.fleet;

import java.sql.Connection;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One of the coordinator's dedicated connections (the writer's or the listener's), used by one
 * thread: opened on first use, dropped on a failure (closed and forgotten, with a warning unless
 * the member is closing), and opened anew on the next use.
 */
final class OwnConnection {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresProbeCoordinator.class);

  /** Opens a new connection, ready for use (or closes it again and throws). */
  @FunctionalInterface
  interface Opener {
    Connection open() throws SQLException;
  }

  private final FleetMember member;
  private final Opener opener;
  private Connection connection;

  OwnConnection(FleetMember member, Opener opener) {
    this.member = member;
    this.opener = opener;
  }

  /** The open connection, or a new one. */
  Connection get() throws SQLException {
    if (connection == null) {
      connection = opener.open();
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
