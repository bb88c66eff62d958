package com.panops.crypto.spring;

import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import com.panops.crypto.testkit.s3.S3MockServer;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import org.springframework.test.context.DynamicPropertyRegistry;

/**
 * The real servers the ITs share, started once per test JVM on free loopback ports and stopped by
 * shutdown hooks: LocalKms (in process), S3Mock (a child process) and PostgreSQL 16 with TLS.
 */
final class TestServers {
  private static TestServers instance;

  final LocalKms kms;
  final S3MockServer s3mock;
  final TlsPostgres postgres;

  private TestServers() {
    kms = LocalKms.start();
    Runtime.getRuntime().addShutdownHook(new Thread(kms::close, "LocalKms-shutdown"));
    s3mock = S3MockServer.builder(S3MockServer.locateJar()).initialBuckets(List.of("mail")).start();
    Runtime.getRuntime().addShutdownHook(new Thread(s3mock::close, "S3Mock-shutdown"));
    postgres = TlsPostgres.shared();
    try (Connection c = DriverManager.getConnection(postgres.jdbcUrl("postgres"), props());
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS messages (id text PRIMARY KEY, subject bytea)");
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private Properties props() {
    Properties p = new Properties();
    p.setProperty("user", postgres.user());
    return p;
  }

  static synchronized TestServers get() {
    if (instance == null) {
      instance = new TestServers();
    }
    return instance;
  }

  /** The sample application's settings for these servers and a fresh CMK for tenant acme. */
  String registerSampleProperties(DynamicPropertyRegistry r) {
    String acmeKey = kms.createKey("spring-sample-acme-" + System.nanoTime());
    r.add("sample.acme-key-arn", () -> acmeKey);
    r.add("sample.kms.endpoint", () -> kms.endpoint().toString());
    r.add("sample.kms.region", kms::region);
    r.add("sample.kms.access-key-id", () -> kms.vendor().accessKeyId());
    r.add("sample.kms.secret-access-key", () -> kms.vendor().secretAccessKey());
    r.add("sample.s3.endpoint", () -> s3mock.endpoint().toString());
    r.add("sample.s3.region", s3mock::region);
    r.add("sample.db.url", () -> postgres.jdbcUrl("postgres"));
    r.add("sample.db.user", postgres::user);
    return acmeKey;
  }
}
