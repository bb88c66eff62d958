package com.panops.crypto.fleet;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/** Opening and closing the coordinator's physical connections. */
final class FleetConnections {
  private FleetConnections() {}

  /**
   * A new connection from {@code ds} with the coordinator's network timeout, in auto-commit, the
   * tables ensured; closed again if any of that fails.
   */
  static Connection open(DataSource ds, FleetTiming timing) throws SQLException {
    Connection c = ds.getConnection();
    try {
      c.setNetworkTimeout(Runnable::run, timing.networkTimeoutMs());
      c.setAutoCommit(true);
      FleetSql.ensureSchema(c);
      return c;
    } catch (SQLException e) {
      closeQuietly(c);
      throw e;
    }
  }

  static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException | RuntimeException e) {
        // nothing to do
      }
    }
  }

  /** What a log line may say of a failure: the SQL state, or the exception's type. */
  static String describe(Exception e) {
    return e instanceof SQLException s ? s.getSQLState() : e.getClass().getSimpleName();
  }
}
