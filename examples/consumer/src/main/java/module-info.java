/**
 * A user's application module: it reads only what panops-crypto exports. Run with {@code
 * --module-path}, the JDK enforces that (Consumer checks it and fails if an internal package is
 * reachable).
 */
module com.example.consumer {
  requires com.panops.crypto.s3;
  requires com.panops.crypto.jdbc;
  requires com.panops.crypto.fleet;
  requires com.panops.crypto.testkit;
  // the README's JDBC example names pgjdbc's data source
  requires org.postgresql.jdbc;
  requires software.amazon.awssdk.regions;
  requires software.amazon.awssdk.auth;
}
