package com.panops.crypto;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives an {@link AuditEvent} for every KMS call. Called on the thread that made the call, so an
 * implementation must be thread-safe and fast (hand slow work to a queue); an exception it throws
 * is logged and otherwise ignored.
 */
@FunctionalInterface
public interface AuditSink {
  void record(AuditEvent event);

  /** The default: one INFO line per call on the SLF4J logger {@code com.panops.crypto.audit}. */
  static AuditSink slf4j() {
    Logger log = LoggerFactory.getLogger("com.panops.crypto.audit");
    return e ->
        log.info(
            "kms {} purpose={} tenant={} key={} context={} outcome={} error={} requestId={}"
                + " latencyMs={}",
            e.operation(),
            e.purpose(),
            e.tenantId(),
            e.keyArn(),
            e.encryptionContext(),
            e.success() ? "success" : "failure",
            e.errorCode(),
            e.requestId(),
            e.latency().toMillis());
  }

  /**
   * Each event as one JSON object on one line of {@code out}, flushed after each line; thread-safe
   * (lines never interleave). Members: {@code operation, purpose, tenantId, keyArn,
   * encryptionContext} (an object, sorted by key){@code , success, errorCode, requestId,
   * latencyMillis} (a number, fractional){@code , time} (an ISO-8601 instant){@code , attempt,
   * lastAttempt, responseReceived, callId}; absent values are JSON {@code null}. A failed write is
   * thrown as {@link java.io.UncheckedIOException} (logged and ignored, as for any sink). The
   * caller owns {@code out} and closes it after the library.
   *
   * <p>These lines are what a reconciliation with the customer's CloudTrail reads: {@code
   * requestId} matches CloudTrail's {@code requestID}, {@code callId} the {@code
   * panops-call/<callId>} in its {@code userAgent}.
   */
  static AuditSink jsonLines(java.io.Writer out) {
    return new AuditJsonLines(out);
  }

  /** Discards events. */
  static AuditSink none() {
    return e -> {};
  }
}
