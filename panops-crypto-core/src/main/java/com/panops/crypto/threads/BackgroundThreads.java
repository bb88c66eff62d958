package com.panops.crypto.threads;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The library's own threads (probes, their scheduler, refresh ahead): named daemon threads, and a
 * stop that waits for the work already running on them. A background KMS call that is running when
 * {@code PanopsCrypto.close()} is called ends (answered, or abandoned by the interrupt) and its
 * audit event is delivered before {@code close()} returns, so the audit is final once it has:
 * nothing the library started reaches KMS afterwards without its audit event. The wait is bounded
 * by {@link #STOP_WAIT} per pool; a thread of the pool stopping its own pool (a revocation listener
 * that closes the library) is interrupted by the stop, so it does not wait for itself. Internal.
 */
public final class BackgroundThreads {
  /** How long {@link #stop} waits for the tasks already running (an SDK call timeout is longer). */
  public static final Duration STOP_WAIT = Duration.ofSeconds(5);

  private BackgroundThreads() {}

  /**
   * A pool of up to {@code threads} threads named {@code prefix-N}, created on demand and ended
   * after 30 s idle, with an unbounded queue.
   */
  public static ThreadPoolExecutor pool(String prefix, int threads) {
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            30,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            new Factory(prefix, true));
    pool.allowCoreThreadTimeOut(true);
    return pool;
  }

  /** A one-thread scheduler named {@code name}. */
  public static ScheduledThreadPoolExecutor scheduler(String name) {
    return new ScheduledThreadPoolExecutor(1, new Factory(name, false));
  }

  /**
   * Stops {@code pool}: the tasks still queued are returned (never run), the running ones are
   * interrupted, and this waits up to {@link #STOP_WAIT} for them to end. Called from one of the
   * pool's own threads, the stop has interrupted the caller, so the wait ends at once. Keeps the
   * caller's interrupt.
   */
  public static List<Runnable> stop(ThreadPoolExecutor pool) {
    List<Runnable> dropped = pool.shutdownNow();
    try {
      pool.awaitTermination(STOP_WAIT.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return dropped;
  }

  private static final class Factory implements ThreadFactory {
    private final String name;
    private final boolean numbered;
    private final AtomicInteger n = new AtomicInteger();

    Factory(String name, boolean numbered) {
      this.name = name;
      this.numbered = numbered;
    }

    @Override
    public Thread newThread(Runnable r) {
      Thread t = new Thread(r, numbered ? name + "-" + n.incrementAndGet() : name);
      t.setDaemon(true);
      return t;
    }
  }
}
