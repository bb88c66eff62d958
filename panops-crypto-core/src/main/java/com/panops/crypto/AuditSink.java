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

  /** Discards events. */
  static AuditSink none() {
    return e -> {};
  }
}
