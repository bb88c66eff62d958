package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.FakeTicker;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.metrics.CryptoMetrics;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Request-thread probes may take at most half the probe budget; scheduled probes keep the other
 * half, so no key starves under traffic (finding B1: before, request-thread probes kept the bucket
 * in debt, no scheduled probe ever started, and a key latched by a transient failure, which only a
 * probe may lift, stayed latched for as long as the traffic lasted). The engine is driven with a
 * fake ticker and a fake KMS (a unit test of our own scheduling; the background scheduler is
 * stopped).
 */
class ScheduledProbesKeepHalfTheBudgetTest {
  static final long MS = 1_000_000L;
  static final long S = 1_000 * MS;

  /**
   * Charges far beyond the budget (request threads never wait) still leave the scheduler half the
   * rate over any long window, minus the initial allowance (the debt cap plus the bucket).
   */
  @Test
  void chargesBeyondTheBudget_leaveScheduledTakersAtLeastHalfTheRate() {
    double perSecond = 10;
    ProbeBudget b = new ProbeBudget(perSecond, 0);
    int taken = 0;
    for (long t = 0; t <= 20 * S; t += 10 * MS) {
      b.charge(5, t); // 500 charged requests per second
      while (b.tryTake(1, t)) {
        taken++;
      }
    }
    double floor = perSecond * ProbeBudget.CHARGED_SHARE * 20 - (b.maxDebt() + b.capacity());
    assertTrue(taken >= floor, "scheduled took " + taken + " in 20 s, at least " + floor);
    assertTrue(taken <= perSecond * 20 + b.capacity(), "never more than the budget: " + taken);
  }

  /**
   * The adversarial timing: charges (request threads) made just before each scan of the scheduler
   * (every 100 ms, the longest scan period). The bucket holds a scan period's worth, so the refill
   * is not lost between scans and the scheduler still gets half the rate, less the initial
   * allowance and at most one token per scan lost to the bucket's top.
   */
  @Test
  void chargesTimedJustBeforeEachScan_leaveScheduledTakersAtLeastHalfTheRate() {
    double perSecond = 100;
    long scan = 100 * MS;
    ProbeBudget b = new ProbeBudget(perSecond, 0);
    int taken = 0;
    int scans = 0;
    for (long t = scan; t <= 20 * S; t += scan) {
      b.charge((int) (perSecond * scan / 1e9), t - 1); // a scan period's worth of charges
      while (b.tryTake(1, t)) {
        taken++;
      }
      scans++;
    }
    double floor =
        perSecond * ProbeBudget.CHARGED_SHARE * 20 - (b.maxDebt() + b.capacity()) - scans;
    assertTrue(taken >= floor, "scheduled took " + taken + " in 20 s, at least " + floor);
  }

  // ---- the engine ----

  static final int KEYS = 20;
  static final Duration INTERVAL = Duration.ofMillis(200);
  static final double BUDGET = 20; // requests/s: scheduled demand is 100/s, request-thread 50/s
  static final Duration STEP = Duration.ofMillis(10); // the scan period of a 200 ms interval

  /**
   * 20 keys in use every 50 ms, a 200 ms interval and a budget of 20 requests/s: every key goes
   * stale and is probed on request threads (about 50/s, far over the budget). Key 0 is then latched
   * by THROTTLED (KMS healthy again); its requests fail fast without probing, so only a scheduled
   * probe can lift it.
   *
   * <p>Bound: the latched key is due within one interval (plus a scan period); the scheduler serves
   * due probes in due order, so at most the other KEYS - 1 keys go first, each at most 2 requests
   * (Decrypt, plus Encrypt for a new canary). Scheduled probes get at least half the budget per
   * second, less what the charge allowance (debt cap + bucket) and the debt at the start may take
   * once. So the lift comes within interval + scan + (2 * KEYS + allowance + debt + bucket) /
   * (BUDGET / 2), here 0.21 + (40 + 22 + 20 + 2) / 10 = 8.6 s (43 intervals). Without the fix it
   * never comes (the test fails after 15 s).
   *
   * <p>The kill switch is checked on the way: every request served had proof of life at most two
   * intervals old, and the latch is lifted by a probe of key 0 after the latch (seen in the audit).
   */
  @Test
  void aLatchedKey_isLiftedWithinTheFairShareBound_whileRequestsProbeEveryOtherKeyOnTheirThreads()
      throws Exception {
    try (ScheduledEngine engine =
        new ScheduledEngine(
            KEYS, ProbeSettings.every(INTERVAL).withBudget(BUDGET), CryptoMetrics.none())) {
      FakeTicker ticker = engine.ticker;
      Revocations revocations = engine.revocations;
      List<AuditEvent> audit = engine.audit;
      List<String> arns = engine.arns;
      PanopsCrypto crypto = engine.crypto;
      byte[][] cts = engine.cts;
      KeyContext kc = ScheduledEngine.KC;
      MessageAad aad = ScheduledEngine.AAD;
      ProbeBudget b = new ProbeBudget(BUDGET, 0);
      double intervalS = INTERVAL.toNanos() / 1e9;
      double boundS =
          intervalS
              + STEP.toNanos() / 1e9
              + (2.0 * KEYS + 2 * b.maxDebt() + 2 * b.capacity())
                  / (BUDGET * ProbeBudget.CHARGED_SHARE);
      long stale = 2 * INTERVAL.toNanos();
      KeyState s0 = revocations.existingState(arns.get(0));
      int latchAt = 300; // 3 s (15 intervals) of traffic first: the bucket is deep in debt
      int steps = latchAt + 1500; // then up to 15 s
      long latchedAt = 0;
      long liftedAt = -1;
      for (int step = 0; step < steps && liftedAt < 0; step++) {
        ticker.advance(STEP);
        if (step == latchAt) {
          audit.clear();
          revocations.latch(s0, RevocationReason.THROTTLED, new RuntimeException("throttled"), "T");
          latchedAt = ticker.read();
        }
        revocations.scan();
        engine.awaitIdle();
        if (step % 5 == 0) { // every 50 ms a request on each key
          for (int i = 0; i < KEYS; i++) {
            try {
              byte[] pt = crypto.tenant("t" + i).decrypt(cts[i], kc, aad);
              assertArrayEquals("x".getBytes(), pt);
              KeyState s = revocations.existingState(arns.get(i));
              assertTrue(
                  ticker.read() - s.lastAliveNanos <= stale,
                  "key " + i + " served without proof of life within two intervals");
            } catch (KeyRevokedException e) {
              assertEquals(0, i, "only key 0 is latched");
              assertTrue(step >= latchAt);
            }
          }
        }
        if (step > latchAt && !s0.isRevoked()) {
          liftedAt = ticker.read();
        }
      }
      long keyZeroProbes =
          audit.stream()
              .filter(ScheduledEngine::isProbe)
              .filter(e -> e.operation().equals("Decrypt") && e.keyArn().equals(arns.get(0)))
              .count();
      assertTrue(
          liftedAt > 0,
          "key 0 (latched by THROTTLED, KMS healthy again) not lifted in 15 s; probes of key 0: "
              + keyZeroProbes
              + ", deferrals: "
              + revocations.probesDeferred());
      double tookS = (liftedAt - latchedAt) / 1e9;
      assertTrue(tookS <= boundS, "lifted after " + tookS + " s, bound " + boundS + " s");
      assertTrue(keyZeroProbes >= 1, "a latch is lifted only by a probe");
      System.out.printf(
          "latched key lifted after %.2f s (bound %.2f s); deferrals %d%n",
          tookS, boundS, revocations.probesDeferred());
    }
  }
}
