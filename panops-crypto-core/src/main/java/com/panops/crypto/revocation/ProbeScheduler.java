package com.panops.crypto.revocation;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.threads.BackgroundThreads;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The probe scheduler: every scan period starts the probes that are due. Each key is probed once
 * per interval on its own phase, so probes spread across the interval, on a pool sized from the
 * measured KMS round trip. A key idle for longer than the idle timeout stops being probed and its
 * cached data keys are dropped, so nothing is ever served from cache for a key that is not being
 * probed.
 *
 * <p>Budget (optional): scheduled probes take tokens from a {@link ProbeBudget}; when it is empty
 * the due probes wait, strictly in order of their due time, each counted once per wait. The budget
 * changes only when background probes start, never what is served: a key whose proof of life is two
 * intervals old is probed on the request thread as always.
 */
final class ProbeScheduler implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Revocations.class);

  private final Collection<KeyState> states;
  private final Revocations.Purger purger;
  private final FleetBridge fleet;
  private final Prober prober;
  private final ProbeBudget budget;
  private final CryptoMetrics metrics;
  private final Ticker ticker;
  private final ProbeTiming timing;
  private final AtomicLong deferrals = new AtomicLong();
  private long lastBudgetWarning; // the scheduler's thread only
  private final ThreadPoolExecutor pool;
  private final ScheduledThreadPoolExecutor scanner;

  ProbeScheduler(
      Collection<KeyState> states,
      Revocations.Purger purger,
      FleetBridge fleet,
      Prober prober,
      ProbeBudget budget,
      CryptoMetrics metrics,
      Ticker ticker,
      ProbeTiming timing) {
    this.states = states;
    this.purger = purger;
    this.fleet = fleet;
    this.prober = prober;
    this.budget = budget;
    this.metrics = metrics;
    this.ticker = ticker;
    this.timing = timing;
    this.lastBudgetWarning = ticker.read() - timing.intervalNanos();
    this.pool = BackgroundThreads.pool("panops-crypto-probe", 1);
    this.scanner = BackgroundThreads.scheduler("panops-crypto-probe-scheduler");
  }

  /** Starts the periodic scan. */
  void start() {
    long period = timing.scanNanos();
    scanner.scheduleAtFixedRate(this::scan, period, period, TimeUnit.NANOSECONDS);
  }

  /** One pass: retires idle keys, starts the due probes (within the budget), sizes the pool. */
  void scan() {
    try {
      long now = ticker.read();
      int live = 0;
      List<Due> waiting = new ArrayList<>(0);
      for (KeyState s : states) {
        if (retireIfIdle(s, now) || (!s.active && s.latch() == null)) {
          continue;
        }
        live++;
        fleet.interested(s);
        long due = s.nextProbeNanos; // read once: the budget's order uses this value
        if (isDue(s, due, now)) {
          startOrQueue(s, due, now, waiting);
        }
      }
      if (!waiting.isEmpty()) {
        startWithinBudget(waiting, now);
      }
      resize(live);
    } catch (RejectedExecutionException e) {
      // closed
    } catch (Throwable t) {
      LOG.error("probe scheduler failed", t);
    }
  }

  /** An idle key stops being probed and its cached data keys are dropped; returns whether idle. */
  private boolean retireIfIdle(KeyState s, long now) {
    if (now - s.lastUsedNanos <= timing.idleNanos()) {
      return false;
    }
    if (s.active) {
      s.active = false;
      purger.purge(s.arn);
    }
    return true;
  }

  /** Whether {@code s}'s probe is due; a key without a phase yet gets a random one. */
  private boolean isDue(KeyState s, long due, long now) {
    if (due == 0) {
      s.nextProbeNanos = now + ThreadLocalRandom.current().nextLong(timing.intervalNanos());
      return false;
    }
    return now - due >= 0;
  }

  /**
   * A probe starts within one scan period after it is due; it is due again one interval minus one
   * scan period after that start, so two probes of a key never start more than one interval apart.
   */
  private void startOrQueue(KeyState s, long due, long now, List<Due> waiting) {
    if (s.probeInFlight.get() != null || !fleet.probesHere(s, now)) {
      s.nextProbeNanos = nextDue(now);
      s.waitingForBudget = false;
    } else if (budget == null) {
      s.nextProbeNanos = nextDue(now);
      pool.execute(() -> prober.backgroundProbe(s));
    } else {
      waiting.add(new Due(s, due));
    }
  }

  private long nextDue(long now) {
    return now + timing.intervalNanos() - timing.scanNanos();
  }

  /** A due probe and its due time (read once: the sort must not see it change). */
  private record Due(KeyState state, long due) {}

  /**
   * Starts the due probes the budget allows, in order of their due time; the others stay due (so
   * they come first at the next pass) and are counted once per wait.
   */
  private void startWithinBudget(List<Due> due, long now) {
    due.sort((a, b) -> Long.compare(a.due() - now, b.due() - now));
    int left = 0;
    boolean empty = false;
    for (Due d : due) {
      KeyState s = d.state();
      if (!empty && budget.tryTake(s.canary == null ? 2 : 1, now)) {
        s.nextProbeNanos = nextDue(now);
        s.waitingForBudget = false;
        pool.execute(() -> prober.backgroundProbe(s));
        continue;
      }
      empty = true; // strictly in order: a cheaper probe behind does not overtake
      left++;
      if (!s.waitingForBudget) {
        s.waitingForBudget = true;
        deferrals.incrementAndGet();
        metrics.probeDeferred();
      }
    }
    if (left > 0 && now - lastBudgetWarning >= timing.intervalNanos()) {
      lastBudgetWarning = now;
      LOG.warn(
          "probe budget of {} KMS requests/s exhausted: {} due probes wait; a key whose proof of"
              + " life is two probe intervals old is probed on the request thread",
          timing.budgetPerSecond(),
          left);
    }
  }

  /** Sizes the pool to about twice the threads the measured round trip keeps busy. */
  private void resize(int liveKeys) {
    double busy = (double) liveKeys * prober.rttNanos() / timing.intervalNanos();
    int target = (int) Math.min(timing.maxThreads(), Math.max(1, Math.ceil(2 * busy) + 1));
    int current = pool.getMaximumPoolSize();
    if (target > current) {
      pool.setMaximumPoolSize(target);
      pool.setCorePoolSize(target);
    } else if (target < current) {
      pool.setCorePoolSize(target);
      pool.setMaximumPoolSize(target);
    }
  }

  /** Scheduled probes that had to wait for the budget so far (once per key per wait). */
  long deferrals() {
    return deferrals.get();
  }

  int threads() {
    return pool.getMaximumPoolSize();
  }

  boolean idle() {
    return pool.getCompletedTaskCount() == pool.getTaskCount();
  }

  void stopScanning() {
    scanner.shutdownNow();
  }

  @Override
  public void close() {
    BackgroundThreads.stop(scanner);
    BackgroundThreads.stop(pool);
  }
}
