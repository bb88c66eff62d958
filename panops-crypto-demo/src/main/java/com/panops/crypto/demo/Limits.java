package com.panops.crypto.demo;

import com.panops.crypto.ProbeSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * How quickly the kill switch must act, derived from the probe settings and from round trips
 * measured on this machine just before (so a loaded machine gets limits that say so), not from
 * constants.
 *
 * <p>Refusal: the customer acts just after a probe started; the next one starts at most one
 * interval later, plus one scheduler period (the engine checks which probes are due every {@code
 * interval / 50}, 10..100 ms); its KMS round trip; in a fleet, the revocation's trip through
 * PostgreSQL (an INSERT and NOTIFY committed, the LISTEN connection woken, the event read: {@value
 * #FANOUT_TRIPS} database round trips); then the reader's poll period and one read. Each measured
 * round trip counts at its slowest of {@value #SAMPLES} samples, twice: the slowest sample says how
 * late this machine answers now, and a second one allows for the same delay on the next hop.
 *
 * <p>Restore: the first successful probe comes at most one interval (+ a scheduler period + a round
 * trip) after the key is usable again; the last settling probe starts the settle time after that
 * answer (each settling probe starts within a scheduler period of its due time); then its round
 * trip, the fleet's restore, the poll and a read. It may not come sooner than the settle time.
 */
final class Limits {
  /** How many samples of each round trip are taken. */
  static final int SAMPLES = 9;

  /** Database round trips of a fleet revocation or restore reaching another worker. */
  static final int FANOUT_TRIPS = 4;

  /**
   * Thread wake-ups and GC pauses that a round-trip sample does not see: on a loaded 2-core machine
   * the probe thread, the LISTEN reader or the polling reader can each be scheduled late by tens of
   * milliseconds. One allowance per limit, well inside the product's promise of one interval + 500
   * ms, so a limit the library misses by more than this still fails.
   */
  static final Duration SCHEDULING = Duration.ofMillis(200);

  /** How often the walkthrough retries a read while it waits for a refusal or a restore. */
  static final Duration POLL = Duration.ofMillis(20);

  private final Duration interval;
  private final int settleProbes;
  private final Duration settle;
  private final Duration scan;
  private final Duration kmsRoundTrip;
  private final Duration readRoundTrip;
  private final Duration dbRoundTrip;
  private final boolean fleet;

  private Limits(ProbeSettings s, Duration kmsRoundTrip, Duration readRoundTrip, Duration db) {
    this.interval = s.interval();
    this.settleProbes = s.settleProbes();
    this.settle = s.settleTime();
    this.scan = scanPeriod(s.interval());
    this.kmsRoundTrip = kmsRoundTrip;
    this.readRoundTrip = readRoundTrip;
    this.dbRoundTrip = db;
    this.fleet = db != null;
  }

  /**
   * The limits for probe settings {@code s} and the round trips measured (each its slowest sample);
   * {@code dbRoundTrip} null for a worker without a fleet (no fan-out through PostgreSQL).
   */
  static Limits of(
      ProbeSettings s, Duration kmsRoundTrip, Duration readRoundTrip, Duration dbRoundTrip) {
    return new Limits(s, kmsRoundTrip, readRoundTrip, dbRoundTrip);
  }

  /** The engine's scheduler period for {@code interval}: interval / 50, 10..100 ms. */
  static Duration scanPeriod(Duration interval) {
    long ms = Math.max(10, Math.min(interval.toMillis() / 50, 100));
    return Duration.ofMillis(ms);
  }

  /** The slowest of the samples (each a duration in nanoseconds). */
  static Duration slowest(List<Long> nanos) {
    return Duration.ofNanos(Collections.max(nanos));
  }

  /** The median of the samples. */
  static Duration median(List<Long> nanos) {
    List<Long> s = new ArrayList<>(nanos);
    Collections.sort(s);
    return Duration.ofNanos(s.get(s.size() / 2));
  }

  private Duration fanOut() {
    return fleet ? dbRoundTrip.multipliedBy(FANOUT_TRIPS) : Duration.ZERO;
  }

  /** One KMS round trip, the fleet's fan-out and one read, each allowed twice. */
  private Duration hops() {
    return kmsRoundTrip.plus(fanOut()).plus(readRoundTrip).multipliedBy(2);
  }

  /** From the customer's action to the first refused read. */
  Duration refusal() {
    return interval.plus(scan).plus(POLL).plus(hops()).plus(SCHEDULING);
  }

  /** From the key being usable again to the first served read (never sooner than settle). */
  Duration restore() {
    return settle
        .plus(interval)
        .plus(scan.multipliedBy(settleProbes))
        .plus(POLL)
        .plus(hops())
        .plus(kmsRoundTrip.multipliedBy(2))
        .plus(SCHEDULING);
  }

  /** Printable lines: each limit and where its terms come from. */
  List<String> derivation() {
    String hop =
        "2 x (KMS "
            + Console.ms(kmsRoundTrip)
            + (fleet ? " + fan-out " + FANOUT_TRIPS + " x DB " + Console.ms(dbRoundTrip) : "")
            + " + read "
            + Console.ms(readRoundTrip)
            + ")";
    return List.of(
        "refusal <= interval "
            + Console.ms(interval)
            + " + scheduler period "
            + Console.ms(scan)
            + " + poll "
            + Console.ms(POLL)
            + " + "
            + hop
            + " + scheduling "
            + Console.ms(SCHEDULING)
            + " = "
            + Console.ms(refusal()),
        "restore >= settle "
            + Console.ms(settle)
            + ", <= settle + interval + "
            + settleProbes
            + " scheduler periods + poll + "
            + hop
            + " + 2 x KMS (the last settling probe) + scheduling "
            + Console.ms(SCHEDULING)
            + " = "
            + Console.ms(restore()),
        "(round trips: the slowest of " + SAMPLES + " measured just now)");
  }
}
