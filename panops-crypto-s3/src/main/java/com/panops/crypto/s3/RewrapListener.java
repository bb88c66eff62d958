package com.panops.crypto.s3;

/**
 * Told of each object a re-wrap run has handled, in listing order, on the thread running the
 * re-wrap. Must not throw.
 */
@FunctionalInterface
public interface RewrapListener {
  /** A listener that ignores everything. */
  static RewrapListener none() {
    return e -> {};
  }

  /** Called once per object examined. */
  void onObject(RewrapEvent event);

  /**
   * One object handled.
   *
   * @param bucket the bucket
   * @param key the object key
   * @param outcome what happened
   * @param error the failure when {@code outcome} is {@link RewrapOutcome#FAILED}, else null
   * @param examined objects examined so far in this run, this one included
   */
  record RewrapEvent(
      String bucket, String key, RewrapOutcome outcome, RuntimeException error, long examined) {}
}
