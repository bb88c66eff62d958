package com.panops.crypto.jdbc;

import com.panops.crypto.AuditSink;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.function.Predicate;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The real parts the ITs share, started once per test JVM: PostgreSQL 16 with TLS ({@link
 * TlsPostgres#shared()}), a LocalKms and a real SDK {@link KmsClient} signed as the vendor. Each
 * test makes its own CMKs and {@link PanopsCrypto}, so one test's kill switch never touches
 * another's key.
 */
final class JdbcTestEnvironment {
  static final Duration PROBE_INTERVAL = Duration.ofMillis(300);

  /**
   * How long a customer-action latch must settle before it lifts (two successful probes at least
   * this far apart); short here because LocalKms applies key changes at once.
   */
  static final Duration SETTLE = Duration.ofMillis(300);

  private static TlsPostgres postgres;
  private static LocalKms kms;
  private static KmsClient kmsClient;

  private JdbcTestEnvironment() {}

  static synchronized TlsPostgres postgres() {
    if (postgres == null) {
      postgres = TlsPostgres.shared();
    }
    return postgres;
  }

  static synchronized LocalKms kms() {
    if (kms == null) {
      LocalKms k = LocalKms.start();
      Runtime.getRuntime().addShutdownHook(new Thread(k::close, "LocalKms-shutdown"));
      kms = k;
    }
    return kms;
  }

  static synchronized KmsClient kmsClient() {
    if (kmsClient == null) {
      LocalKms k = kms();
      kmsClient =
          KmsClient.builder()
              .endpointOverride(k.endpoint())
              .region(Region.of(k.region()))
              .credentialsProvider(k.vendor().credentialsProvider())
              .overrideConfiguration(
                  o ->
                      o.retryStrategy(AwsRetryStrategy.doNotRetry())
                          .apiCallTimeout(Duration.ofSeconds(20)))
              .build();
    }
    return kmsClient;
  }

  /** pgjdbc's own DataSource with {@code sslmode=verify-full} and the test CA. */
  static PGSimpleDataSource pgDataSource() {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(postgres().jdbcUrl("postgres"));
    ds.setUser(postgres().user());
    return ds;
  }

  /** The DataSource the adapter is used with: TLS verified, enforced. */
  static DataSource dataSource() {
    return TlsEnforcingDataSource.requireVerifyFull(pgDataSource());
  }

  /** A new CMK in LocalKms. */
  static String newKey(String description) {
    return kms().createKey(description);
  }

  /** A PanopsCrypto over LocalKms with a 300 ms probe. */
  static PanopsCrypto crypto(Map<String, TenantKeys> tenants) {
    return crypto(TenantDirectory.of(tenants));
  }

  /** A PanopsCrypto over LocalKms with a 300 ms probe, asking the directory on every call. */
  static PanopsCrypto crypto(TenantDirectory directory) {
    return PanopsCrypto.builder()
        .kmsClient(kmsClient())
        .tenantDirectory(directory)
        .allowInsecureLocalKmsEndpoint()
        .probeSettings(ProbeSettings.every(PROBE_INTERVAL).withSettle(2, SETTLE))
        .auditSink(AuditSink.none())
        .build();
  }

  /** The tenant's "subject" column of the table, in the default format. */
  static EncryptedColumn subject(PanopsCrypto crypto, String tenant, String table) {
    return EncryptedColumn.builder(crypto, tenant).table(table).column("subject").build();
  }

  /** How many trail events match. */
  static long countTrail(Predicate<TrailEvent> p) {
    return kms().trail().stream().filter(p).count();
  }

  static void exec(String... sql) throws SQLException {
    try (Connection c = dataSource().getConnection();
        Statement s = c.createStatement()) {
      for (String q : sql) {
        s.execute(q);
      }
    }
  }
}
