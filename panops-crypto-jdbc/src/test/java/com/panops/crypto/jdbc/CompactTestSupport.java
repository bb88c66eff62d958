package com.panops.crypto.jdbc;

import com.panops.crypto.AuditSink;
import com.panops.crypto.CacheSettings;
import com.panops.crypto.DataKeyRegistry;
import com.panops.crypto.DataKeyRegistryException;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RegisteredDataKey;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
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
    return crypto(dir, maxMessagesPerKey, registry());
  }

  static PanopsCrypto crypto(
      Function<String, TenantKeys> dir, long maxMessagesPerKey, DataKeyRegistry registry) {
    return PanopsCrypto.builder()
        .kmsClient(JdbcTestEnvironment.kmsClient())
        .tenantDirectory(dir::apply)
        .allowInsecureLocalKmsEndpoint()
        .probeSettings(
            ProbeSettings.every(JdbcTestEnvironment.PROBE_INTERVAL)
                .withSettle(2, JdbcTestEnvironment.SETTLE))
        .cacheSettings(CacheSettings.builder().encryptMaxMessages(maxMessagesPerKey).build())
        .auditSink(AuditSink.none())
        .dataKeyRegistry(registry)
        .build();
  }

  /**
   * A registry whose registrations a test can stop. With a small message limit, refresh ahead
   * registers each key's successor on a background thread, so a test that counts registry rows and
   * then expects a re-wrap to move exactly that many would race a late registration (seen in CI: 6
   * moved where 5 were counted). {@link #freeze()} waits for every running registration to commit
   * and makes later ones fail (as a registry outage would: the background load fails, nothing is
   * registered), so the rows counted after it are all the rows there will be.
   */
  static final class FreezableRegistry implements DataKeyRegistry {
    private final DataKeyRegistry delegate;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean frozen; // guarded by lock

    FreezableRegistry(DataKeyRegistry delegate) {
      this.delegate = delegate;
    }

    @Override
    public boolean register(RegisteredDataKey key) {
      lock.readLock().lock();
      try {
        if (frozen) {
          throw new DataKeyRegistryException("registrations frozen by the test", null);
        }
        return delegate.register(key);
      } finally {
        lock.readLock().unlock();
      }
    }

    @Override
    public RegisteredDataKey lookup(String tenantId, long keyId) {
      return delegate.lookup(tenantId, keyId);
    }

    /** Returns once no registration is running; every later one fails. */
    void freeze() {
      lock.writeLock().lock();
      try {
        frozen = true;
      } finally {
        lock.writeLock().unlock();
      }
    }
  }

  /** The tenant's "subject" column of the table, writing version 1 (framed) values. */
  static EncryptedColumn framedSubject(PanopsCrypto crypto, String tenant, String table) {
    return EncryptedColumn.builder(crypto, tenant)
        .table(table)
        .column("subject")
        .valueFormat(ValueFormat.FRAMED)
        .build();
  }

  static PanopsCrypto crypto(Map<String, TenantKeys> tenants) throws SQLException {
    return crypto(tenants::get, 1L << 24);
  }

  static TenantDirectory directory(Map<String, TenantKeys> tenants) {
    return TenantDirectory.of(tenants);
  }
}
