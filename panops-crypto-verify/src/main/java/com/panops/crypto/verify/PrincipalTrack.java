package com.panops.crypto.verify;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One vendor principal's calls on one key: its counts, its cuts and what happened after each, its
 * violations (a success more than the propagation window after a cut that was still in force), its
 * probe intervals and its activity per time bucket.
 */
final class PrincipalTrack {
  static final int MAX_VIOLATIONS_LISTED = 1_000;

  /** A successful call made while the principal was cut off, past the propagation window. */
  record Violation(
      Instant at,
      String eventName,
      String requestId,
      String eventId,
      Instant cutAt,
      Duration afterCut,
      boolean late) {}

  final String principal;
  final List<Cut> cuts = new ArrayList<>();
  final List<Violation> violations = new ArrayList<>();
  final LogHistogram probeIntervals = new LogHistogram();
  final Activity activity = new Activity();
  long violationCount;
  long successes;
  long refusals;
  long probes;
  private Instant lastProbe;
  private Cut awaitingSuccess;

  PrincipalTrack(String principal) {
    this.principal = principal;
  }

  Cut openCut() {
    if (cuts.isEmpty()) {
      return null;
    }
    Cut last = cuts.get(cuts.size() - 1);
    return last.open() ? last : null;
  }

  void cut(Instant at, String by) {
    if (openCut() == null) {
      cuts.add(new Cut(at, by));
      awaitingSuccess = null;
    }
  }

  void restore(Instant at, String by) {
    Cut c = openCut();
    if (c != null) {
      c.restoredAt = at;
      c.restoredBy = by;
      awaitingSuccess = c;
    }
  }

  /** A data call (Decrypt, Encrypt, GenerateDataKey*, ReEncrypt*) by this principal. */
  void call(KmsRecord r, boolean probe, Duration propagationWindow, boolean allowedNow) {
    activity.add(r.eventTime(), !r.failed());
    if (probe) {
      probes++;
      if (lastProbe != null) {
        probeIntervals.add(JsonReport.seconds(Duration.between(lastProbe, r.eventTime())));
      }
      lastProbe = r.eventTime();
    }
    Cut c = openCut();
    if (r.failed()) {
      refusals++;
      // a refusal in the second of the restore (placed after it) may have come before it
      Cut refusedBy = c != null ? c : restoredThisSecond(r.eventTime());
      if (refusedBy != null && refusedBy.firstRefused == null) {
        refusedBy.firstRefused = r.eventTime();
        refusedBy.firstRefusedErrorCode = r.errorCode();
      }
      return;
    }
    successes++;
    if (c == null || allowedNow) {
      // no cut, or one that left this operation allowed (the policy or a grant still allows it)
      if (awaitingSuccess != null) {
        awaitingSuccess.firstSuccessAfterRestore = r.eventTime();
        awaitingSuccess = null;
      }
      return;
    }
    c.lastSuccessAfter = r.eventTime();
    violation(r, c, propagationWindow, false);
  }

  private void violation(KmsRecord r, Cut c, Duration propagationWindow, boolean late) {
    Duration after = Duration.between(c.at, r.eventTime());
    if (after.compareTo(propagationWindow) > 0) {
      violationCount++;
      if (violations.size() < MAX_VIOLATIONS_LISTED) {
        violations.add(
            new Violation(
                r.eventTime(), r.eventName(), r.requestId(), r.eventId(), c.at, after, late));
      }
    }
  }

  /**
   * A successful call that arrived too late to be placed in order (or a differing copy of a
   * record): checked against the cuts known, so that a late record can still show a violation.
   */
  void lateSuccess(KmsRecord r, Duration propagationWindow) {
    for (Cut c : cuts) {
      boolean during =
          !r.eventTime().isBefore(c.at)
              && (c.restoredAt == null || r.eventTime().isBefore(c.restoredAt));
      if (during) {
        violation(r, c, propagationWindow, true);
        return;
      }
    }
  }

  private Cut restoredThisSecond(Instant t) {
    if (cuts.isEmpty()) {
      return null;
    }
    Cut last = cuts.get(cuts.size() - 1);
    return t.equals(last.restoredAt) ? last : null;
  }

  boolean active() {
    return successes + refusals > 0;
  }
}
