package com.panops.crypto.s3;

import java.util.List;

/**
 * The counts of one re-wrap run. Immutable.
 *
 * @param examined objects listed under the prefix
 * @param rewrapped objects moved to the current CMK in this run
 * @param alreadyCurrent objects already under the current CMK (done by an earlier run)
 * @param notEncrypted plaintext objects, left as they are
 * @param failedKeys keys whose re-wrap failed (the objects are unchanged; run again to retry)
 * @param lastKey the last key examined, or null if none (a run may be resumed after it)
 */
public record RewrapResult(
    long examined,
    long rewrapped,
    long alreadyCurrent,
    long notEncrypted,
    List<String> failedKeys,
    String lastKey) {
  public RewrapResult {
    failedKeys = List.copyOf(failedKeys);
  }

  /** Objects whose re-wrap failed. */
  public long failed() {
    return failedKeys.size();
  }

  /** Whether every encrypted object under the prefix is now under the current CMK. */
  public boolean complete() {
    return failedKeys.isEmpty();
  }
}
