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

  void analysed(KmsRecord r) {
    if (firstEvent == null || r.eventTime().isBefore(firstEvent)) {
      firstEvent = r.eventTime();
    }
    if (lastEvent == null || r.eventTime().isAfter(lastEvent)) {
      lastEvent = r.eventTime();
    }
  }

  /** Whether every record of every file was read and placed in order. */
  boolean complete() {
    return unreadableFiles == 0 && malformed == 0 && late == 0;
  }

  private void list(String source, String problem) {
    if (problems.size() < MAX_LISTED) {
      problems.add(new Problem(source, problem));
    }
  }
}
