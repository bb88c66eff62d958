package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantKeys;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BlindIndexIT {
  private static PanopsCrypto crypto;
  private static DataSource ds;
  private static BlindIndexKeyStore keyStore;
  private static String keyAcme;

  @BeforeAll
  static void setUp() throws SQLException {
    keyAcme = JdbcTestEnvironment.newKey("blind index acme");
    String keyGlobex = JdbcTestEnvironment.newKey("blind index globex");
    crypto =
        JdbcTestEnvironment.crypto(
            Map.of("acme", TenantKeys.of(keyAcme), "globex", TenantKeys.of(keyGlobex)));
    ds = JdbcTestEnvironment.dataSource();
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS bidx_customer",
        "DROP TABLE IF EXISTS " + BlindIndexKeyStore.TABLE,
        "CREATE TABLE bidx_customer (id text PRIMARY KEY, tenant_id text NOT NULL,"
            + " email bytea, email_bidx bytea)",
        "CREATE INDEX ON bidx_customer (tenant_id, email_bidx)");
    keyStore = BlindIndexKeyStore.on(ds);
    keyStore.createTableIfMissing();
    keyStore.createTableIfMissing(); // idempotent

    insert("acme", "a1", "alice@example.com");
    insert("acme", "a2", " Alice@Example.COM ");
    insert("acme", "a3", "bob@example.com");
    insert("acme", "a4", null);
    insert("globex", "g1", "alice@example.com");
    for (int i = 0; i < 50; i++) {
      insert("acme", "x" + i, "user" + i + "@example.com");
    }
  }

  @AfterAll
  static void tearDown() {
    crypto.close();
  }

  private static EncryptedColumn email(TenantCrypto t) {
    return EncryptedColumn.builder(t).table("bidx_customer").column("email").build();
  }

  private static BlindIndex emailIndex(TenantCrypto t) {
    return BlindIndex.builder(t, keyStore)
        .table("bidx_customer")
        .column("email")
        .normalizer(BlindIndex.Normalizer.caseInsensitive())
        .build();
  }

  private static void insert(String tenantId, String id, String email) throws SQLException {
    TenantCrypto t = crypto.tenant(tenantId);
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO bidx_customer (id, tenant_id, email, email_bidx) VALUES (?, ?, ?, ?)")) {
      ps.setString(1, id);
      ps.setString(2, tenantId);
      email(t).bind(ps, 3, email, id);
      emailIndex(t).bind(ps, 4, email);
      ps.executeUpdate();
    }
  }

  /** The ids of the tenant's rows whose email equals {@code email} (after normalisation). */
  private static Set<String> find(String tenantId, String email) throws SQLException {
    TenantCrypto t = crypto.tenant(tenantId);
    Set<String> ids = new TreeSet<>();
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT id, email FROM bidx_customer WHERE tenant_id = ? AND email_bidx = ?")) {
      ps.setString(1, tenantId);
      emailIndex(t).bind(ps, 2, email);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String id = rs.getString(1);
          String stored = email(t).getString(rs, 2, id);
          assertEquals(
              BlindIndex.Normalizer.caseInsensitive().normalize(email),
              BlindIndex.Normalizer.caseInsensitive().normalize(stored));
          ids.add(id);
        }
      }
    }
    return ids;
  }

  @Test
  void lookup_findsExactlyTheRowsWithTheNormalisedValue() throws SQLException {
    assertEquals(Set.of("a1", "a2"), find("acme", "alice@example.com"));
    assertEquals(Set.of("a1", "a2"), find("acme", "ALICE@example.com"));
    assertEquals(Set.of("a3"), find("acme", "bob@example.com"));
    assertEquals(Set.of("x17"), find("acme", "user17@example.com"));
    assertEquals(Set.of(), find("acme", "carol@example.com"));
  }

  @Test
  void lookup_seesOnlyTheTenantsOwnRows_andTenantsHaveUnrelatedIndexValues() throws SQLException {
    assertEquals(Set.of("g1"), find("globex", "alice@example.com"));
    byte[] a = emailIndex(crypto.tenant("acme")).compute("alice@example.com");
    byte[] g = emailIndex(crypto.tenant("globex")).compute("alice@example.com");
    assertFalse(Arrays.equals(a, g));
  }

  @Test
  void nullIsNotIndexed() throws SQLException {
    assertNull(emailIndex(crypto.tenant("acme")).compute((String) null));
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT email_bidx FROM bidx_customer WHERE id = 'a4'");
        ResultSet rs = ps.executeQuery()) {
      assertTrue(rs.next());
      assertNull(rs.getBytes(1));
    }
  }

  @Test
  void indexValues_are16Bytes_stable_andTheKeyIsStoredWrappedOnce() throws SQLException {
    BlindIndex idx = emailIndex(crypto.tenant("acme"));
    byte[] v = idx.compute("alice@example.com");
    assertEquals(16, v.length);
    // another store instance (another process) finds the same key in the table
    BlindIndex fresh =
        BlindIndex.builder(crypto.tenant("acme"), BlindIndexKeyStore.on(ds))
            .table("bidx_customer")
            .column("email")
            .normalizer(BlindIndex.Normalizer.caseInsensitive())
            .build();
    assertArrayEquals(v, fresh.compute("alice@example.com"));
    List<byte[]> wrapped = new ArrayList<>();
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT wrapped_key FROM "
                    + BlindIndexKeyStore.TABLE
                    + " WHERE tenant_id = 'acme' AND table_name = 'bidx_customer'"
                    + " AND column_name = 'email'");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        wrapped.add(rs.getBytes(1));
      }
    }
    // wrapped by the tenant's CMK: a core message naming it, not 32 raw bytes
    assertEquals(
        keyAcme,
        com.panops.crypto.format.MessageHeader.parse(wrapped.get(0), 0, wrapped.get(0).length)
            .keyArn());
  }

  @Test
  void concurrentFirstUsesFromSeparateStores_allAgreeOnOneKey() throws Exception {
    int n = 8;
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(n);
    try {
      java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(n);
      List<java.util.concurrent.Future<byte[]>> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        results.add(
            pool.submit(
                () -> {
                  BlindIndex racer =
                      BlindIndex.builder(crypto, "acme", BlindIndexKeyStore.on(ds))
                          .table("bidx_customer")
                          .column("email_race")
                          .build();
                  start.await();
                  return racer.compute("alice@example.com");
                }));
      }
      byte[] first = results.get(0).get(60, java.util.concurrent.TimeUnit.SECONDS);
      for (java.util.concurrent.Future<byte[]> f : results) {
        assertArrayEquals(first, f.get(60, java.util.concurrent.TimeUnit.SECONDS));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** Acme's case-insensitive index of column email_params, over a store of its own. */
  private static BlindIndex caseInsensitiveEmailParamsOnAFreshStore() {
    return BlindIndex.builder(crypto, "acme", BlindIndexKeyStore.on(ds))
        .table("bidx_customer")
        .column("email_params")
        .normalizer(BlindIndex.Normalizer.caseInsensitive())
        .build();
  }

  @Test
  void anIndexWithAnotherNormaliserOrLength_isRefused_insteadOfFindingNothing()
      throws SQLException {
    BlindIndex original = caseInsensitiveEmailParamsOnAFreshStore();
    original.ensureKey();
    for (BlindIndex.Builder changed :
        List.of(
            BlindIndex.builder(crypto, "acme", BlindIndexKeyStore.on(ds))
                .normalizer(BlindIndex.Normalizer.exact()),
            BlindIndex.builder(crypto, "acme", BlindIndexKeyStore.on(ds))
                .normalizer(BlindIndex.Normalizer.caseInsensitive())
                .length(20))) {
      BlindIndex other = changed.table("bidx_customer").column("email_params").build();
      java.sql.SQLException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.sql.SQLException.class, () -> other.compute("alice@example.com"));
      assertEquals(SqlStates.CRYPTO_FAILURE, e.getSQLState());
      assertTrue(e.getMessage().contains("was created with"), e.getMessage());
    }
    // the same parameters, from another instance: fine
    BlindIndex same = caseInsensitiveEmailParamsOnAFreshStore();
    assertArrayEquals(original.compute("Alice@Example.com"), same.compute("alice@example.com"));
  }
}
