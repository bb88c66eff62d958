package com.panops.crypto.cache;

import com.panops.crypto.threads.BackgroundThreads;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The background threads of refresh ahead (four daemon threads, idle ones time out). Every task
 * ends exactly once, run or rejected, so the count of refreshes in flight always drains.
 */
final class Refresher {
  private final ThreadPoolExecutor pool;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicLong started = new AtomicLong();

  Refresher() {
    this.pool = BackgroundThreads.pool("panops-crypto-refresh", 4);
  }

  /**
   * A background refresh. Exactly one of {@link #run} and {@link #reject} ends it: a task never run
   * (refused by the executor, or dropped from its queue by {@link #close()}) is rejected, which
   * fails its pending load, so that no request waits for it and {@link #awaitIdle} drains. Either
   * way it counts itself out of {@code inFlight}.
   */
  private record Task(Runnable task, Runnable onRejected, AtomicInteger inFlight)
      implements Runnable {
    @Override
    public void run() {
      try {
        task.run();
      } catch (RuntimeException e) {
        // the loader applied the failure rules (latch, ...); the request path will retry
      } finally {
        inFlight.decrementAndGet();
      }
    }

    void reject() {
      try {
        onRejected.run();
      } finally {
        inFlight.decrementAndGet();
      }
    }
  }

  /** Runs {@code task} on a refresher thread; {@code onRejected} if it never runs. */
  void submit(Runnable task, Runnable onRejected) {
    inFlight.incrementAndGet();
    started.incrementAndGet();
    Task t = new Task(task, onRejected, inFlight);
    try {
      pool.execute(t);
    } catch (RejectedExecutionException e) {
      t.reject();
    }
  }

  /** Refreshes started so far. */
  long started() {
    return started.get();
  }

  /** Waits up to {@code timeout} until no refresh is running; true if none is. */
  boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (inFlight.get() > 0) {
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      Thread.sleep(1);
    }
    return true;
  }

  /** Stops the threads (waiting for the running refreshes); every queued task is rejected. */
  void close() {
    for (Runnable dropped : BackgroundThreads.stop(pool)) {
      ((Task) dropped).reject();
    }
  }
}
