package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.FakeTicker;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.metrics.CryptoMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The probe budget: the token bucket on its own, then the engine's scheduler driven with a fake
 * ticker (background scheduler stopped), counting the probes' KMS calls against the budget.
 */
class ProbeBudgetTest {
  static final long MS = 1_000_000L;
  static final long S = 1_000 * MS;

  @Test
  void theBucketAllowsItsRateOnAverage_andABurstOfATenthOfASecond_atLeastTwo() {
    ProbeBudget b = new ProbeBudget(50, 0);
    assertEquals(5, b.capacity());
    assertEquals(2, new ProbeBudget(5, 0).capacity(), "room for a probe with a new canary");
    int taken = 0;
    for (long t = 0; t <= 10 * S; t += MS) {
      for (int i = 0; i < 100 && b.tryTake(1, t); i++) {
        taken++;
      }
    }
    // 10 s at 50/s plus the initial bucket of 5
    assertTrue(taken <= 505 && taken >= 500, "taken " + taken);
  }

  @Test
  void aRequestThreadProbeIsChargedWithoutWaiting_andTheBackgroundYields() {
    ProbeBudget b = new ProbeBudget(10, 0);
    b.charge(2, 0); // the bucket (2) is empty now
    b.charge(3, 0); // in debt: 3 tokens
    assertFalse(b.tryTake(1, 200 * MS), "2 tokens refilled, 3 owed");
    assertFalse(b.tryTake(1, 350 * MS));
    assertTrue(b.tryTake(1, 400 * MS), "debt paid and one token back after 400 ms");
    b.charge(1_000, 400 * MS);
    assertTrue(b.tryTake(1, 400 * MS + 1_100 * MS), "debt is capped at one second's worth");
  }

  /**
   * Racing takers (the scheduler) and chargers (request threads) on one bucket at one instant:
   * guards the interleavings of refill/take/charge from several threads. No refill happens (same
   * time), so exactly the bucket's 5 tokens are taken, however the threads interleave, and charges
   * never let a taker through.
   */
  @Test
  void racingTakersAndChargers_neverTakeMoreThanTheBucketHolds() throws Exception {
    for (int round = 0; round < 50; round++) {
      ProbeBudget b = new ProbeBudget(50, 0);
      java.util.concurrent.atomic.AtomicInteger taken =
          new java.util.concurrent.atomic.AtomicInteger();
      java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(8);
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        boolean charger = t % 4 == 3;
        Thread th =
            new Thread(
                () -> {
                  try {
                    start.await();
                  } catch (Exception e) {
                    throw new AssertionError(e);
                  }
                  for (int i = 0; i < 200; i++) {
                    if (charger) {
                      b.charge(1, 10 * MS);
                    } else if (b.tryTake(1, 10 * MS)) {
                      taken.incrementAndGet();
                    }
                  }
                });
        threads.add(th);
        th.start();
      }
      for (Thread th : threads) {
        th.join(10_000);
      }
      // The bucket starts full (5) and the first refill to 10 ms adds 0.5 tokens, capped at 5.
      assertTrue(taken.get() <= 5, "round " + round + ": " + taken.get() + " taken");
      assertFalse(b.tryTake(1, 10 * MS), "nothing left");
    }
  }

  // ---- the engine ----

  /**
   * 20 keys at a 1 s interval need 20 probes per second; a budget of 5 requests/s covers a quarter:
   * over 10 s of scheduling the probes' KMS calls stay within 5/s (plus the bucket), every key
   * still gets probes (the longest-waiting first: nobody starves), waits are counted, and a request
   * on a key whose proof is two intervals old probes on its own thread without waiting for the
   * budget.
   */
  @Test
  void theSchedulerKeepsProbesWithinTheBudget_fairly_andRequestsStillProbeOnTheirThread()
      throws Exception {
    AtomicLong deferredMetric = new AtomicLong();
    try (ScheduledEngine engine =
        new ScheduledEngine(
            20,
            ProbeSettings.every(Duration.ofSeconds(1)).withBudget(5),
            new CryptoMetrics() {
              @Override
              public void probeDeferred() {
                deferredMetric.incrementAndGet();
              }
            })) {
      FakeTicker ticker = engine.ticker;
      Revocations revocations = engine.revocations;
      long start = ticker.read();
      for (int step = 0; step < 500; step++) { // 10 s in scan periods of 20 ms
        ticker.advance(Duration.ofMillis(20));
        revocations.scan();
        engine.awaitIdle();
        // Keep every key in use (a use touches the key; it is served while its proof is fresh).
        if (step % 25 == 0) {
          for (String arn : engine.arns) {
            revocations.existingState(arn).touch(ticker.read(), 0);
          }
        }
      }
      Map<String, Integer> perKey = new HashMap<>();
      long calls = 0;
      for (AuditEvent e : engine.audit) {
        if (ScheduledEngine.isProbe(e)) {
          calls++;
          if (e.operation().equals("Decrypt")) {
            perKey.merge(e.keyArn(), 1, Integer::sum);
          }
        }
      }
      double seconds = (ticker.read() - start) / 1e9;
      assertTrue(calls <= 5 * seconds + 2, "probe KMS calls " + calls + " in " + seconds + " s");
      assertTrue(calls >= 5 * seconds - 5, "the budget is used: " + calls);
      assertEquals(20, perKey.size(), "every key probed: " + perKey);
      for (int n : perKey.values()) {
        assertTrue(n >= 1, "no key starves: " + perKey);
      }
      assertTrue(revocations.probesDeferred() > 0);
      assertEquals(revocations.probesDeferred(), deferredMetric.get(), "each wait is a metric");

      // The budget is spent; key 0's proof is older than two intervals for some keys: a request
      // probes on its own thread at once (counted against the budget, never delayed by it).
      KeyState s0 = revocations.existingState(engine.arns.get(0));
      ticker.advance(Duration.ofSeconds(2));
      s0.lastAliveNanos = ticker.read() - 2 * S - 1;
      long before = engine.kms.decryptCalls.get();
      assertArrayEquals(
          "x".getBytes(),
          engine
              .crypto
              .tenant("t0")
              .decrypt(engine.cts[0], ScheduledEngine.KC, ScheduledEngine.AAD));
      assertEquals(before + 1, engine.kms.decryptCalls.get(), "a probe on the request thread");
    }
  }
}
