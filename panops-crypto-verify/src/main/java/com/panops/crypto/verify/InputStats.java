package com.panops.crypto.verify;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** What the verifier read, and what it could not use (named, up to a bound; counted always). */
final class InputStats {
  static final int MAX_LISTED = 100;

  /** One thing the verifier could not use, and why. */
  record Problem(String source, String problem) {}

  int files;
  long records;
  long kmsRecords;
  long otherServices;
  long duplicates;
  long malformed;
  long late;
  long conflicts;
  long undetermined;
  long unreadableFiles;
  long bytes;
  Instant firstEvent;
  Instant lastEvent;
  final List<Problem> problems = new ArrayList<>();

  void unreadable(String source, String problem) {
    unreadableFiles++;
    list(source, problem);
  }

  void malformed(String source, int index, String problem) {
    malformed++;
    list(source, "record " + index + ": " + problem);
  }

  void late(KmsRecord r, String problem) {
    late++;
    list(r.source(), "record " + r.eventId() + " (" + r.eventTime() + "): " + problem);
  }

  /** A record with the eventID of another but different content: one of them is not genuine. */
  void conflict(KmsRecord r) {
    conflicts++;
    list(
        r.source(),
        "record "
            + r.eventId()
            + ": the same eventID as an earlier record, with different content");
  }

  /** A change whose effect on the vendor's access the trail does not tell. */
  void undetermined(KmsRecord r, String why) {
    undetermined(r.source(), r.eventName() + " at " + r.eventTime() + ": " + why);
  }

  void undetermined(String source, String what) {
    undetermined++;
    list(source, what);
  }

  /** The trail holds no data call by a vendor principal: nothing was verified. */
  void nothingOfTheVendor(int files) {
    noVendorCalls = true;
    list(
        "",
        files == 0
            ? "no log file was found under the source"
            : "no call by a vendor principal is in the trail: check --vendor and the source");
  }

  boolean noVendorCalls;

  void analysed(KmsRecord r) {
    if (firstEvent == null || r.eventTime().isBefore(firstEvent)) {
      firstEvent = r.eventTime();
    }
    if (lastEvent == null || r.eventTime().isAfter(lastEvent)) {
      lastEvent = r.eventTime();
    }
  }

  /**
   * Whether every record of every file was read and placed in order, no two copies of a record
   * disagreed, and every change's effect on the vendor was determined.
   */
  boolean complete() {
    return unreadableFiles == 0
        && malformed == 0
        && late == 0
        && conflicts == 0
        && undetermined == 0
        && !noVendorCalls;
  }

  private void list(String source, String problem) {
    if (problems.size() < MAX_LISTED) {
      problems.add(new Problem(source, problem));
    }
  }
}
