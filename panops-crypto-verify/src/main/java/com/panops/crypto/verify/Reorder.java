package com.panops.crypto.verify;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.function.Consumer;

/**
 * Puts records in event-time order and drops duplicates, in bounded memory. CloudTrail delivers at
 * least once and not in order: a file holds the events of a few minutes, a late event lands in a
 * later file. Records wait here until the newest event seen is more than the reorder window past
 * them, then go downstream oldest first (equal times in arrival order). A record older than what
 * already went downstream cannot be placed and is counted as late (the report then says its input
 * was incomplete); a record whose {@code eventID} was seen in the last two windows is a duplicate
 * and is dropped. Memory: the records of one window, and the event ids of two.
 */
final class Reorder {

  /** A record waiting; a {@code conflict} is a differing copy, released to the late handler. */
  private record Entry(KmsRecord record, long seq, boolean conflict) {}

  private record Seen(Instant time, String eventId) {}

  /** What a duplicate must repeat: a copy that differs in any of these is a conflict. */
  private record Fingerprint(
      Instant eventTime,
      String eventName,
      String principal,
      String accountId,
      String userAgent,
      java.util.List<String> keyArns,
      String errorCode,
      String requestId,
      String policy,
      String grantId,
      String granteePrincipal,
      java.util.List<String> grantOperations) {

    static Fingerprint of(KmsRecord r) {
      return new Fingerprint(
          r.eventTime(),
          r.eventName(),
          r.principal(),
          r.accountId(),
          r.userAgent(),
          r.keyArns(),
          r.errorCode(),
          r.requestId(),
          r.policy(),
          r.grantId(),
          r.granteePrincipal(),
          r.grantOperations());
    }
  }

  private final Duration window;
  private final Consumer<KmsRecord> downstream;
  private final InputStats stats;
  private final PriorityQueue<Entry> waiting =
      new PriorityQueue<>(
          Comparator.comparing((Entry e) -> e.record().eventTime())
              .thenComparingInt(e -> withinTheSecond(e.record()))
              .thenComparingLong(Entry::seq));
  private final Map<String, Fingerprint> seenIds = new HashMap<>();
  private final Consumer<KmsRecord> late;
  private final ArrayDeque<Seen> seenOrder = new ArrayDeque<>();

  /** Characters the waiting records may hold before the oldest are released early. */
  static final long MAX_WAITING_CHARS = 16L << 20;

  private long waitingChars;
  private long seq;
  private Instant newest;
  private Instant released;

  /**
   * @param late where a record too late to place in order goes (it is still checked for a violation
   *     against the cuts already known)
   */
  Reorder(
      Duration window, Consumer<KmsRecord> downstream, Consumer<KmsRecord> late, InputStats stats) {
    this.window = window;
    this.downstream = downstream;
    this.late = late;
    this.stats = stats;
  }

  /**
   * The order of records with the same event time. CloudTrail's times have one-second resolution,
   * and files delivered in the same minute have no order among them, so records of one second are
   * not in the order they happened. A CreateKey comes first; the customer's other changes of one
   * second keep their arrival order among themselves (a CancelKeyDeletion then an EnableKey must
   * stay in that order); the vendor's calls of that second come after them, successes before
   * refusals. So a success in the second of a cut counts 0 s after it (never a violation), one in
   * the second of a restore counts as after the restore, and a refusal in the second of a cut is
   * its first refusal.
   */
  static int withinTheSecond(KmsRecord r) {
    if (r.eventName().equals("CreateKey")) {
      return 0; // a key is created before anything else can happen to it
    }
    if (TrailAnalysis.CHANGES.contains(r.eventName())) {
      return 1;
    }
    return r.failed() ? 3 : 2;
  }

  void offer(KmsRecord r) {
    Fingerprint seen = seenIds.get(r.eventId());
    if (seen != null) {
      if (seen.equals(Fingerprint.of(r))) {
        stats.duplicates++;
      } else {
        stats.conflict(r);
        // the copy that differs is still checked for a violation, once the records before it
        // (the cut it may fall in) have been analysed
        if (released != null && r.eventTime().isBefore(released)) {
          late.accept(r);
        } else {
          add(new Entry(r, seq++, true));
        }
      }
      return;
    }
    if (released != null && r.eventTime().isBefore(released)) {
      stats.late(
          r,
          "arrived after events more than the reorder window ("
              + window
              + ") later had been analysed");
      late.accept(r);
      return;
    }
    seenIds.put(r.eventId(), Fingerprint.of(r));
    add(new Entry(r, seq++, false));
    if (newest == null || r.eventTime().isAfter(newest)) {
      newest = r.eventTime();
    }
  }

  private void add(Entry e) {
    waiting.add(e);
    waitingChars += size(e.record());
    while (waitingChars > MAX_WAITING_CHARS && !waiting.isEmpty()) {
      releaseOne(); // bounded memory first: a record older than this one is then late
    }
  }

  private static long size(KmsRecord r) {
    return 64L
        + r.eventId().length()
        + length(r.requestId())
        + length(r.userAgent())
        + length(r.policy())
        + length(r.errorCode());
  }

  private static int length(String s) {
    return s == null ? 0 : s.length();
  }

  /** After each file: releases what is more than the window older than the newest event. */
  void endOfFile() {
    if (newest != null) {
      release(newest.minus(window));
    }
  }

  /** At the end of the input: releases everything. */
  void finish() {
    release(null);
  }

  private void releaseOne() {
    Entry e = waiting.poll();
    KmsRecord r = e.record();
    waitingChars -= size(r);
    released = r.eventTime();
    if (e.conflict()) {
      late.accept(r);
      return;
    }
    seenOrder.add(new Seen(r.eventTime(), r.eventId()));
    downstream.accept(r);
  }

  private void release(Instant before) {
    while (!waiting.isEmpty()
        && (before == null || waiting.peek().record().eventTime().isBefore(before))) {
      releaseOne();
    }
    if (released != null) {
      Instant forget = released.minus(window);
      while (!seenOrder.isEmpty() && seenOrder.peek().time().isBefore(forget)) {
        seenIds.remove(seenOrder.poll().eventId());
      }
    }
  }
}
