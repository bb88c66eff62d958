package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.LocalKms;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The customer's kill switch over compact values: with every registry row and data key cached,
 * disabling the CMK, scheduling its deletion, or removing the vendor from its key policy refuses
 * every compact value within one probe interval + 500 ms, and undoing it restores them. The
 * registry rows stay cached throughout: they carry no key, so caching them cannot keep a value
 * readable.
 */
class CompactKillSwitchIT {
  private static final Duration WITHIN =
      JdbcTestEnvironment.PROBE_INTERVAL.plus(Duration.ofMillis(500));
  private static final Duration GIVE_UP = Duration.ofSeconds(10);
  private static final DataSource ds = JdbcTestEnvironment.dataSource();

  interface Action {
    void run(LocalKms kms, String arn);
  }

  private void killSwitch(String name, Action act, RevocationReason reason, Action undo)
      throws Exception {
    String cmk = JdbcTestEnvironment.newKey("compact-ks-" + name);
    String table = "cks_" + name;
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS " + table,
        "CREATE TABLE " + table + " (id text PRIMARY KEY, note bytea)");
    try (PanopsCrypto crypto = CompactTestSupport.crypto(Map.of("acme", TenantKeys.of(cmk)))) {
      EncryptedColumn note =
          EncryptedColumn.builder(crypto, "acme").table(table).column("note").build();
      assertEquals(ValueFormat.COMPACT, note.valueFormat());
      try (Connection c = ds.getConnection();
          PreparedStatement ps =
              c.prepareStatement("INSERT INTO " + table + " (id, note) VALUES (?, ?)")) {
        for (int i = 0; i < NoteTable.ROWS; i++) {
          ps.setString(1, "n" + i);
          note.bind(ps, 2, "note " + i, "n" + i);
          ps.addBatch();
        }
        ps.executeBatch();
      }
      for (int i = 0; i < 3; i++) {
        assertNull(readAll(table, note)); // warm
      }
      act.run(JdbcTestEnvironment.kms(), cmk);
      long start = System.nanoTime();
      SQLException failure = null;
      while (System.nanoTime() - start < GIVE_UP.toNanos()) {
        failure = readAll(table, note);
        if (failure != null) {
          break;
        }
        Thread.sleep(10);
      }
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertNotNull(failure, name + ": reads never failed");
      assertTrue(took.compareTo(WITHIN) <= 0, name + ": reads failed only after " + took);
      assertEquals(SqlStates.KEY_REVOKED, failure.getSQLState());
      KeyRevokedException cause = assertInstanceOf(KeyRevokedException.class, failure.getCause());
      assertEquals(reason, cause.reason(), name);
      assertNotNull(readAll(table, note), "stays refused");

      undo.run(JdbcTestEnvironment.kms(), cmk);
      long restoreStart = System.nanoTime();
      while (readAll(table, note) != null) {
        assertTrue(System.nanoTime() - restoreStart < GIVE_UP.toNanos(), name + ": no recovery");
        Thread.sleep(20);
      }
    }
  }

  /** Reads every row; null on success, else the adapter's failure. */
  private static SQLException readAll(String table, EncryptedColumn note) {
    return NoteTable.readAll(ds, table, note);
  }

  @Test
  void disablingTheCmk_refusesCompactValues_withinOneProbeIntervalPlus500ms() throws Exception {
    killSwitch("disable", LocalKms::disableKey, RevocationReason.DISABLED, LocalKms::enableKey);
  }

  @Test
  void schedulingDeletion_refusesCompactValues_withinOneProbeIntervalPlus500ms() throws Exception {
    killSwitch(
        "deletion",
        (k, arn) -> k.scheduleKeyDeletion(arn, 7),
        RevocationReason.PENDING_DELETION,
        (k, arn) -> {
          k.cancelKeyDeletion(arn);
          k.enableKey(arn);
        });
  }

  @Test
  void removingTheVendorFromTheKeyPolicy_refusesCompactValues_withinOneProbeIntervalPlus500ms()
      throws Exception {
    LocalKms kms = JdbcTestEnvironment.kms();
    String seed = kms.seedKeyPolicy();
    String adminOnly =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Admin\",\"Effect\":\"Allow\","
            + "\"Principal\":{\"AWS\":\""
            + kms.admin().arn()
            + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";
    killSwitch(
        "policy",
        (k, arn) -> k.putKeyPolicy(arn, adminOnly),
        RevocationReason.ACCESS_DENIED,
        (k, arn) -> k.putKeyPolicy(arn, seed));
  }
}
