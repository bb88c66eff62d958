package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.format.MessageHeader;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

class ColumnRotationIT {
  private static final int ROWS = 1000;
  private static final int BIG_ROW = 137;
  private static final int BIG = 1024 * 1024;

  private final DataSource ds = JdbcTestEnvironment.dataSource();

  /** A simulated crash of the rotating process, thrown from the progress listener. */
  static final class Crash extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Crash() {
      super("simulated crash");
    }
  }

  private static EncryptedColumn subject(TenantCrypto t, String table) {
    return EncryptedColumn.builder(t).table(table).column("subject").build();
  }

  private static EncryptedColumn body(TenantCrypto t, String table) {
    return EncryptedColumn.builder(t).table(table).column("body").build();
  }

  /** A rotation of tenant rotacme's subject and body columns of the table, by id. */
  private ColumnRotation.Builder acmeRotation(PanopsCrypto crypto, String table) {
    TenantCrypto acme = crypto.tenant("rotacme");
    return ColumnRotation.builder(ds, crypto, "rotacme")
        .primaryKey("id")
        .tenantColumn("tenant_id")
        .column(subject(acme, table))
        .column(body(acme, table));
  }

  private static byte[] bodyOf(long id) {
    byte[] b = new byte[id == BIG_ROW ? BIG : 64];
    new Random(id).nextBytes(b);
    return b;
  }

  private void createAndFill(String table, TenantCrypto acme, TenantCrypto globex)
      throws SQLException {
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS " + table,
        "CREATE TABLE "
            + table
            + " (id bigint PRIMARY KEY, tenant_id text NOT NULL, subject bytea, body bytea)");
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO " + table + " (id, tenant_id, subject, body) VALUES (?, ?, ?, ?)")) {
      c.setAutoCommit(false);
      for (long id = 1; id <= ROWS + 20; id++) {
        TenantCrypto t = id <= ROWS ? acme : globex;
        String rk = Long.toString(id);
        ps.setLong(1, id);
        ps.setString(2, t.tenantId());
        subject(t, table).bind(ps, 3, id % 10 == 0 ? null : "subject " + id, rk);
        body(t, table).bind(ps, 4, bodyOf(id), rk);
        ps.addBatch();
      }
      ps.executeBatch();
      c.commit();
    }
  }

  /** Reads and checks every acme row with {@code t}; returns how many values were checked. */
  private int readAllAcme(String table, TenantCrypto t) throws SQLException {
    int values = 0;
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT id, subject, body FROM "
                    + table
                    + " WHERE tenant_id = 'rotacme' ORDER BY id");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        long id = rs.getLong(1);
        String rk = Long.toString(id);
        String s = subject(t, table).getString(rs, 2, rk);
        if (id % 10 == 0) {
          assertNull(s);
        } else {
          assertEquals("subject " + id, s);
          values++;
        }
        assertArrayEquals(bodyOf(id), body(t, table).getBytes(rs, 3, rk));
        values++;
      }
    }
    return values;
  }

  /** How many stored values of {@code tenantId} name each CMK in their header. */
  private Map<String, Integer> valuesByKey(String table, String tenantId) throws SQLException {
    Map<String, Integer> m = new HashMap<>();
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT substring(subject FROM 1 FOR 8192), substring(body FROM 1 FOR 8192) FROM "
                    + table
                    + " WHERE tenant_id = ?")) {
      ps.setString(1, tenantId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          for (int i = 1; i <= 2; i++) {
            byte[] b = rs.getBytes(i);
            if (b != null) {
              m.merge(MessageHeader.parse(b, 0, b.length).keyArn(), 1, Integer::sum);
            }
          }
        }
      }
    }
    return m;
  }

  private static long reEncrypts(String oldKey, String newKey) {
    return JdbcTestEnvironment.countTrail(
        e ->
            "ReEncrypt".equals(e.eventName())
                && (oldKey.equals(e.keyId()) || newKey.equals(e.keyId())));
  }

  @Test
  void rotationInterruptedHalfWay_andResumed_leavesEveryRowReadable_underTheNewKeyOnly()
      throws Exception {
    String table = "rot_mail";
    String oldKey = JdbcTestEnvironment.newKey("rotation old");
    String newKey = JdbcTestEnvironment.newKey("rotation new");
    String globexKey = JdbcTestEnvironment.newKey("rotation bystander");
    BlindIndexKeyStore keyStore = BlindIndexKeyStore.on(ds);
    keyStore.createTableIfMissing();
    byte[] indexBefore;
    int totalValues;
    try (PanopsCrypto before =
        JdbcTestEnvironment.crypto(
            Map.of("rotacme", TenantKeys.of(oldKey), "rotglobex", TenantKeys.of(globexKey)))) {
      createAndFill(table, before.tenant("rotacme"), before.tenant("rotglobex"));
      totalValues = readAllAcme(table, before.tenant("rotacme"));
      indexBefore =
          BlindIndex.builder(before.tenant("rotacme"), keyStore)
              .table(table)
              .column("subject")
              .build()
              .compute("subject 7");
    }
    assertEquals(Map.of(oldKey, totalValues), valuesByKey(table, "rotacme"));

    // The directory now names the new CMK current and keeps the old one for decryption.
    try (PanopsCrypto during =
        JdbcTestEnvironment.crypto(
            Map.of(
                "rotacme",
                TenantKeys.of(newKey, List.of(oldKey)),
                "rotglobex",
                TenantKeys.of(globexKey)))) {
      TenantCrypto acme = during.tenant("rotacme");
      List<ColumnRotation.RotationProgress> seen = new ArrayList<>();
      ColumnRotation.ProgressListener crashAfterFive =
          p -> {
            seen.add(p);
            try {
              // between batches, every row reads (under either CMK)
              assertEquals(totalValues, readAllAcme(table, acme));
            } catch (SQLException e) {
              throw new AssertionError(e);
            }
            if (p.batches() == 5) {
              throw new Crash();
            }
          };
      ColumnRotation first =
          acmeRotation(during, table).batchSize(100).progressListener(crashAfterFive).build();
      assertThrows(Crash.class, first::run);

      assertEquals(5, seen.size());
      assertEquals(500, seen.get(4).rows());
      assertEquals(500L, seen.get(4).lastPrimaryKey());
      Map<String, Integer> half = valuesByKey(table, "rotacme");
      assertEquals(totalValues, half.get(oldKey) + half.get(newKey));
      assertEquals(seen.get(4).rewrapped(), (long) half.get(newKey));
      assertEquals(totalValues, readAllAcme(table, acme));

      // Resumed from scratch: done rows are recognised by their header and skipped.
      ColumnRotation.RotationProgress done =
          acmeRotation(during, table).batchSize(100).build().run();
      assertEquals(ROWS, done.rows());
      assertEquals(half.get(newKey).longValue(), done.alreadyCurrent());
      assertEquals(half.get(oldKey).longValue(), done.rewrapped());
      assertEquals(Map.of(newKey, totalValues), valuesByKey(table, "rotacme"));

      // A third run finds nothing left to do.
      ColumnRotation.RotationProgress again = acmeRotation(during, table).build().run();
      assertEquals(0, again.rewrapped());

      assertEquals(1, keyStore.rewrapKeys(acme));
      assertEquals(0, keyStore.rewrapKeys(acme));
    }

    // Many rows share a data key: one ReEncrypt per distinct data key, not one per value.
    long reEncrypts = reEncrypts(oldKey, newKey);
    assertTrue(reEncrypts >= 1 && reEncrypts <= 3, reEncrypts + " ReEncrypt calls");
    // The bystander tenant's rows were not touched.
    assertEquals(Map.of(globexKey, 38), valuesByKey(table, "rotglobex"));

    // The old CMK is dropped from the directory and disabled by the customer: all still reads.
    JdbcTestEnvironment.kms().disableKey(oldKey);
    try (PanopsCrypto after =
        JdbcTestEnvironment.crypto(Map.of("rotacme", TenantKeys.of(newKey)))) {
      assertEquals(totalValues, readAllAcme(table, after.tenant("rotacme")));
      byte[] indexAfter =
          BlindIndex.builder(after.tenant("rotacme"), BlindIndexKeyStore.on(ds))
              .table(table)
              .column("subject")
              .build()
              .compute("subject 7");
      assertArrayEquals(indexBefore, indexAfter, "the blind index survives the rotation");
    }
  }

  @Test
  void rotation_resumedFromTheLastReportedPrimaryKey_scansOnlyTheRest() throws Exception {
    String table = "rot_resume";
    String oldKey = JdbcTestEnvironment.newKey("resume old");
    String newKey = JdbcTestEnvironment.newKey("resume new");
    try (PanopsCrypto before =
        JdbcTestEnvironment.crypto(
            Map.of("rotacme", TenantKeys.of(oldKey), "rotglobex", TenantKeys.of(oldKey)))) {
      createAndFill(table, before.tenant("rotacme"), before.tenant("rotglobex"));
    }
    try (PanopsCrypto during =
        JdbcTestEnvironment.crypto(Map.of("rotacme", TenantKeys.of(newKey, List.of(oldKey))))) {
      TenantCrypto acme = during.tenant("rotacme");
      Object[] last = new Object[1];
      assertThrows(
          Crash.class,
          () ->
              acmeRotation(during, table)
                  .batchSize(250)
                  .progressListener(
                      p -> {
                        last[0] = p.lastPrimaryKey();
                        throw new Crash();
                      })
                  .build()
                  .run());
      ColumnRotation.RotationProgress rest =
          acmeRotation(during, table).batchSize(250).startAfter(last[0]).build().run();
      assertEquals(ROWS - 250, rest.rows());
      assertEquals(0, rest.alreadyCurrent());
      assertEquals(readAllAcme(table, acme), (int) valuesByKey(table, "rotacme").get(newKey));
    }
  }
}
