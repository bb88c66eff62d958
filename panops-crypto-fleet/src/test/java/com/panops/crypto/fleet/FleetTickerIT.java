package com.panops.crypto.fleet;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.ProbeCoordinator;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The coordinator's ages and expiries are read from its ticker: two coordinators on fake tickers
 * (embedded PostgreSQL, verify-full TLS) and a stub engine with a 1 s probe interval. Moving one
 * ticker ages that member's proofs and interest without waiting for them in real time.
 */
class FleetTickerIT {
  static final String ARN = "arn:aws:kms:eu-west-1:111122223333:key/ticker";
  static TlsPostgres pg;
  final FakeTicker aTicker = new FakeTicker();
  final FakeTicker bTicker = new FakeTicker();
  final StubFleet aFleet = new StubFleet();
  final StubFleet bFleet = new StubFleet();
  PostgresProbeCoordinator a;
  PostgresProbeCoordinator b;

  /** The engine's side: records the proofs of life the fleet delivers. */
  static final class StubFleet implements ProbeCoordinator.Fleet {
    final ConcurrentHashMap<String, Duration> oldestProof = new ConcurrentHashMap<>();

    @Override
    public Duration probeInterval() {
      return Duration.ofSeconds(1);
    }

    @Override
    public void provenAlive(String keyArn, Duration age) {
      oldestProof.merge(keyArn, age, (x, y) -> x.compareTo(y) >= 0 ? x : y);
    }

    @Override
    public void revoked(String keyArn, RevocationReason reason, String errorCode) {}

    @Override
    public void restored(String keyArn) {}
  }

  @BeforeAll
  static void startPostgres() {
    pg = TlsPostgres.start();
  }

  @AfterAll
  static void stopPostgres() {
    pg.close();
  }

  @BeforeEach
  void setUp() throws Exception {
    TestFleet.resetCoordinationTables(pg);
    // "a" is the member the rendezvous hash prefers for the key.
    String[] ids = {"m-a", "m-b"};
    if (Long.compareUnsigned(
            PostgresProbeCoordinator.score(ids[0], ARN),
            PostgresProbeCoordinator.score(ids[1], ARN))
        < 0) {
      ids = new String[] {"m-b", "m-a"};
    }
    a = coordinator(ids[0], aTicker);
    b = coordinator(ids[1], bTicker);
    a.interested(ARN);
    b.interested(ARN);
    a.start(aFleet);
    b.start(bFleet);
    await(() -> a.isHealthy() && b.isHealthy() && !b.assigned(ARN), "the members agree on a");
  }

  @AfterEach
  void tearDown() {
    a.close();
    b.close();
  }

  static PostgresProbeCoordinator coordinator(String id, FakeTicker ticker) {
    return PostgresProbeCoordinator.builder()
        .dataSource(TestFleet.dataSource(pg))
        .attestationKey(TestFleet.KEY)
        .memberId(id)
        .ticker(ticker)
        .build();
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return;
      }
      Thread.sleep(20);
    }
    fail("not within 10 s: " + what);
  }

  @Test
  void anAttestedProbeAges_onTheProbersTicker() throws Exception {
    a.probeSucceeded(ARN, Duration.ZERO);
    aTicker.advance(Duration.ofMillis(700));
    await(
        () -> {
          Duration d = bFleet.oldestProof.get(ARN);
          return d != null && d.compareTo(Duration.ofMillis(700)) >= 0;
        },
        "b hears a's proof as at least 700 ms old");
    assertTrue(a.isHealthy(), "a frozen ticker keeps the health window open");
  }

  @Test
  void aKeyUnusedForTwoIntervalsOnTheTicker_isHandedToTheMemberStillUsingIt() throws Exception {
    assertTrue(a.assigned(ARN));
    aTicker.advance(Duration.ofMillis(2_100));
    await(() -> b.assigned(ARN), "b takes the key a stopped using");
    assertTrue(b.isHealthy(), "b still trusts the fleet: the hand-over is the fleet's");
  }
}
