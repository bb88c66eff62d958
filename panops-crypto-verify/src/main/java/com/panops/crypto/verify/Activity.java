package com.panops.crypto.verify;

import java.time.Instant;

/**
 * A principal's calls on a key counted per time bucket, for the report's timeline, in bounded
 * memory: at most {@link #MAX_BUCKETS} buckets; when the calls span more, the bucket width doubles
 * and neighbouring buckets merge. Calls arrive in event-time order.
 */
final class Activity {
  static final int MAX_BUCKETS = 512;
  private static final long FIRST_WIDTH_MILLIS = 1_000;

  private long origin = Long.MIN_VALUE;
  private long width = FIRST_WIDTH_MILLIS;
  private final long[] success = new long[MAX_BUCKETS];
  private final long[] refused = new long[MAX_BUCKETS];
  private int used;

  void add(Instant at, boolean ok) {
    long t = at.toEpochMilli();
    if (origin == Long.MIN_VALUE) {
      origin = t - Math.floorMod(t, width);
    }
    if (t < origin) {
      t = origin; // equal-time reordering only: calls come in event-time order
    }
    long index = (t - origin) / width;
    while (index >= MAX_BUCKETS) {
      widen();
      index = (t - origin) / width;
    }
    int i = (int) index;
    if (ok) {
      success[i]++;
    } else {
      refused[i]++;
    }
    used = Math.max(used, i + 1);
  }

  private void widen() {
    for (int i = 0; i < MAX_BUCKETS / 2; i++) {
      success[i] = success[2 * i] + success[2 * i + 1];
      refused[i] = refused[2 * i] + refused[2 * i + 1];
    }
    for (int i = MAX_BUCKETS / 2; i < MAX_BUCKETS; i++) {
      success[i] = 0;
      refused[i] = 0;
    }
    used = (used + 1) / 2;
    width *= 2;
  }

  int buckets() {
    return used;
  }

  Instant from(int i) {
    return Instant.ofEpochMilli(origin + i * width);
  }

  double seconds() {
    return width / 1000.0;
  }

  long success(int i) {
    return success[i];
  }

  long refused(int i) {
    return refused[i];
  }
}
