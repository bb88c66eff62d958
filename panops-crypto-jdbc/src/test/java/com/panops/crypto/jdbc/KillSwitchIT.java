package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantKeys;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The customer's kill switch through the JDBC adapter: with every data key cached, disabling the
 * CMK stops reads (and writes and blind-index lookups) within one probe interval, and enabling it
 * restores them.
 */
class KillSwitchIT {
  /** One probe interval, plus a KMS round trip and scheduling on a loaded 2-core machine. */
  private static final Duration WITHIN =
      JdbcTestEnvironment.PROBE_INTERVAL.plus(Duration.ofMillis(700));

  /** A customer-action latch lifts after settling: within the settle time plus one interval. */
  private static final Duration RESTORED_WITHIN = JdbcTestEnvironment.SETTLE.plus(WITHIN);

  private static final Duration GIVE_UP = Duration.ofSeconds(10);

  private static String key;
  private static PanopsCrypto crypto;
  private static DataSource ds;
  private static EncryptedColumn note;
  private static BlindIndex noteIndex;

  @BeforeAll
  static void setUp() throws SQLException {
    key = JdbcTestEnvironment.newKey("kill switch");
    crypto = JdbcTestEnvironment.crypto(Map.of("acme", TenantKeys.of(key)));
    ds = JdbcTestEnvironment.dataSource();
    JdbcTestEnvironment.exec(
        "DROP TABLE IF EXISTS ks_note",
        "CREATE TABLE ks_note (id text PRIMARY KEY, note bytea, note_bidx bytea)");
    BlindIndexKeyStore keys = BlindIndexKeyStore.on(ds);
    keys.createTableIfMissing();
    note = EncryptedColumn.builder(crypto.tenant("acme")).table("ks_note").column("note").build();
    noteIndex =
        BlindIndex.builder(crypto.tenant("acme"), keys).table("ks_note").column("note").build();
    for (int i = 0; i < NoteTable.ROWS; i++) {
      write("n" + i, "note " + i);
    }
  }

  @AfterAll
  static void tearDown() {
    JdbcTestEnvironment.kms().enableKey(key);
    crypto.close();
  }

  private static void write(String id, String value) throws SQLException {
    try (Connection c = ds.getConnection();
        PreparedStatement ps =
            c.prepareStatement("INSERT INTO ks_note (id, note, note_bidx) VALUES (?, ?, ?)")) {
      ps.setString(1, id);
      note.bind(ps, 2, value, id);
      noteIndex.bind(ps, 3, value);
      ps.executeUpdate();
    }
  }

  /** Reads every row; returns null on success or the first failure. */
  private static SQLException readAll() {
    return NoteTable.readAll(ds, "ks_note", note);
  }

  /** Polls {@code readAll} until {@code wantFailure} holds; returns how long it took. */
  private static Duration until(boolean wantFailure) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + GIVE_UP.toNanos();
    while (System.nanoTime() < deadline) {
      boolean failed = readAll() != null;
      if (failed == wantFailure) {
        return Duration.ofNanos(System.nanoTime() - start);
      }
      Thread.sleep(10);
    }
    return fail("reads did not " + (wantFailure ? "fail" : "recover") + " within " + GIVE_UP);
  }

  @Test
  void disablingTheKey_withAWarmCache_stopsReadsWithinOneProbeInterval_andEnablingRestoresThem()
      throws Exception {
    for (int i = 0; i < 3; i++) {
      assertEquals(null, readAll()); // warm: every data key cached
    }
    long decryptsBefore =
        JdbcTestEnvironment.countTrail(
            e -> key.equals(e.keyId()) && "Decrypt".equals(e.eventName()) && !e.failed());

    JdbcTestEnvironment.kms().disableKey(key);
    Duration toFail = until(true);
    assertTrue(toFail.compareTo(WITHIN) <= 0, "reads failed only after " + toFail);

    SQLException e = readAll();
    assertNotNull(e);
    assertEquals(SqlStates.KEY_REVOKED, e.getSQLState());
    KeyRevokedException cause = assertInstanceOf(KeyRevokedException.class, e.getCause());
    assertEquals(RevocationReason.DISABLED, cause.reason());
    assertEquals(key, cause.keyArn());
    assertTrue(e.getMessage().contains(key) && e.getMessage().contains("DISABLED"), e.getMessage());

    // writes and blind-index lookups stop too
    SQLException w = assertThrows(SQLException.class, () -> write("late", "late note"));
    assertEquals(SqlStates.KEY_REVOKED, w.getSQLState());
    SQLException l = assertThrows(SQLException.class, () -> noteIndex.compute("note 3"));
    assertEquals(SqlStates.KEY_REVOKED, l.getSQLState());

    JdbcTestEnvironment.kms().enableKey(key);
    Duration toRecover = until(false);
    assertTrue(
        toRecover.compareTo(RESTORED_WITHIN) <= 0, "reads recovered only after " + toRecover);
    assertEquals(null, readAll());
    assertNotNull(noteIndex.compute("note 3"));
    assertTrue(
        JdbcTestEnvironment.countTrail(
                ev -> key.equals(ev.keyId()) && "Decrypt".equals(ev.eventName()) && !ev.failed())
            > decryptsBefore,
        "a successful canary Decrypt lifted the latch");
  }
}
