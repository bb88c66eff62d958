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
 * @param stillUnderOldKeys what the end-of-run check found still under another CMK than the current
 *     one: objects written behind the listing cursor by a writer that did not yet use the new CMK,
 *     and, in a versioned bucket, noncurrent versions (as {@code key?versionId=...}); run again for
 *     the former, delete the latter before the old CMK is disabled
 */
public record RewrapResult(
    long examined,
    long rewrapped,
    long alreadyCurrent,
    long notEncrypted,
    List<String> failedKeys,
    String lastKey,
    List<String> stillUnderOldKeys) {
  public RewrapResult {
    failedKeys = List.copyOf(failedKeys);
    stillUnderOldKeys = List.copyOf(stillUnderOldKeys);
  }

  /**
   * The 0.1.0 constructor, kept for binary compatibility: a result with nothing listed as still
   * under old keys.
   */
  public RewrapResult(
      long examined,
      long rewrapped,
      long alreadyCurrent,
      long notEncrypted,
      List<String> failedKeys,
      String lastKey) {
    this(examined, rewrapped, alreadyCurrent, notEncrypted, failedKeys, lastKey, List.of());
  }

  /** Objects whose re-wrap failed. */
  public long failed() {
    return failedKeys.size();
  }

  /**
   * Whether every encrypted object under the prefix (every version, in a versioned bucket) was
   * found under the current CMK at the end of the run: no failures, nothing still under old keys.
   */
  public boolean complete() {
    return failedKeys.isEmpty() && stillUnderOldKeys.isEmpty();
  }
}
