package com.panops.crypto.jdbc;

import com.panops.crypto.AuditSink;
import com.panops.crypto.CacheSettings;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.sql.SQLException;
import java.util.Map;
import java.util.function.Function;

/** PanopsCrypto instances with the PostgreSQL data-key registry, over LocalKms. */
final class CompactTestSupport {
  private CompactTestSupport() {}

  static PostgresDataKeyRegistry registry() throws SQLException {
    PostgresDataKeyRegistry r = PostgresDataKeyRegistry.on(JdbcTestEnvironment.dataSource());
    r.createTableIfMissing();
    return r;
  }

  static PanopsCrypto crypto(Function<String, TenantKeys> dir, long maxMessagesPerKey)
      throws SQLException {
    return PanopsCrypto.builder()
        .kmsClient(JdbcTestEnvironment.kmsClient())
        .tenantDirectory(dir::apply)
        .allowInsecureLocalKmsEndpoint()
        .probeSettings(
            ProbeSettings.every(JdbcTestEnvironment.PROBE_INTERVAL)
                .withSettle(2, JdbcTestEnvironment.SETTLE))
        .cacheSettings(CacheSettings.builder().encryptMaxMessages(maxMessagesPerKey).build())
        .auditSink(AuditSink.none())
        .dataKeyRegistry(registry())
        .build();
  }

  static PanopsCrypto crypto(Map<String, TenantKeys> tenants) throws SQLException {
    return crypto(tenants::get, 1L << 24);
  }

  static TenantDirectory directory(Map<String, TenantKeys> tenants) {
    return TenantDirectory.of(tenants);
  }
}
