/**
 * panops-crypto-fleet: one liveness probe per key for a fleet of workers, coordinated through
 * PostgreSQL. Exports only {@code com.panops.crypto.fleet}; a new package is internal until it is
 * listed here.
 */
module com.panops.crypto.fleet {
  requires transitive com.panops.crypto;
  requires transitive java.sql;
  // the coordinator is built over a TlsEnforcingDataSource
  requires transitive com.panops.crypto.jdbc;
  // PostgresProbeCoordinator.Builder.ticker(Ticker)
  requires transitive com.github.benmanes.caffeine;
  requires org.postgresql.jdbc;
  requires java.naming;
  requires org.slf4j;

  exports com.panops.crypto.fleet;
}
