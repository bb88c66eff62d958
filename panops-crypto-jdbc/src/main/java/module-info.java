/**
 * panops-crypto-jdbc: column encryption for JDBC (PostgreSQL), blind indexes, TLS enforcement and
 * key rotation. Exports only {@code com.panops.crypto.jdbc}; a new package is internal until it is
 * listed here.
 */
module com.panops.crypto.jdbc {
  requires transitive com.panops.crypto;
  requires transitive java.sql;
  requires org.postgresql.jdbc;
  // pgjdbc's data sources are Referenceable
  requires java.naming;

  exports com.panops.crypto.jdbc;
}
