package com.panops.crypto.benchmarks;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryUsage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * Peak heap while a benchmark runs, two ways: heap used sampled every 5 ms (includes garbage not
 * yet collected, so it mostly shows the young generation's size), and the largest heap still used
 * right after a collection (close to the live set: buffers an implementation holds on to). Both
 * minus the baseline taken after a {@code System.gc()} at {@link #start()}.
 */
final class HeapSampler implements AutoCloseable {
  private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
  private final AtomicLong peakUsed = new AtomicLong();
  private final AtomicLong peakAfterGc = new AtomicLong();
  private final List<Runnable> unregister = new ArrayList<>();
  private long baseline;
  private volatile boolean running;
  private Thread thread;

  void start() {
    System.gc();
    baseline = memory.getHeapMemoryUsage().getUsed();
    peakUsed.set(baseline);
    peakAfterGc.set(baseline);
    NotificationListener listener = this::onGc;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc instanceof NotificationEmitter e) {
        e.addNotificationListener(listener, null, null);
        unregister.add(
            () -> {
              try {
                e.removeNotificationListener(listener);
              } catch (Exception ignored) {
                // already gone
              }
            });
      }
    }
    running = true;
    thread =
        new Thread(
            () -> {
              while (running) {
                peakUsed.accumulateAndGet(memory.getHeapMemoryUsage().getUsed(), Math::max);
                try {
                  Thread.sleep(5);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "heap-sampler");
    thread.setDaemon(true);
    thread.start();
  }

  private void onGc(Notification n, Object handback) {
    if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
      return;
    }
    GarbageCollectionNotificationInfo info =
        GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
    long used = 0;
    for (MemoryUsage u : info.getGcInfo().getMemoryUsageAfterGc().values()) {
      used += u.getUsed();
    }
    peakAfterGc.accumulateAndGet(used, Math::max);
  }

  /** {@code heapPeakUsedBytes}, {@code heapPeakAfterGcBytes} (both above baseline), baseline. */
  Map<String, Long> result() {
    Map<String, Long> m = new LinkedHashMap<>();
    m.put("heapBaselineBytes", baseline);
    m.put("heapPeakUsedBytes", Math.max(0, peakUsed.get() - baseline));
    m.put("heapPeakAfterGcBytes", Math.max(0, peakAfterGc.get() - baseline));
    return m;
  }

  @Override
  public void close() {
    running = false;
    if (thread != null) {
      thread.interrupt();
    }
    unregister.forEach(Runnable::run);
  }
}
