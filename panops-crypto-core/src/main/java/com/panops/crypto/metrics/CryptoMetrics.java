package com.panops.crypto.metrics;

import com.panops.crypto.RevocationReason;
import java.time.Duration;

/**
 * Where the library reports its counters. Implementations must be thread-safe and cheap. The
 * default does nothing; {@link MicrometerMetrics} reports to a Micrometer registry (Micrometer is
 * an optional dependency: add {@code io.micrometer:micrometer-core} to use it).
 */
public interface CryptoMetrics {
  /** A data-key cache miss on the {@code side} ("encrypt" or "decrypt"). */
  default void cacheMiss(String side) {}

  /** A data-key cache hit: called on the warm path, so it must cost next to nothing. */
  default void cacheHit(String side) {}

  /** A KMS call finished. */
  default void kmsCall(String operation, String purpose, boolean success, Duration latency) {}

  /** A key was latched as revoked. */
  default void revoked(RevocationReason reason) {}

  /** A key's latch was lifted by a successful probe. */
  default void restored() {}

  /** A liveness probe finished. */
  default void probe(boolean success, Duration latency) {}

  /**
   * A scheduled probe that was due had to wait for the probe budget ({@code
   * ProbeSettings.withBudget}); counted once per key per wait.
   */
  default void probeDeferred() {}

  /**
   * A read of a ciphertext was refused because KMS refused its data key as that one ciphertext's
   * failure (a tampered or misplaced value), not the key's; {@code fromMemory}: answered from the
   * remembered refusal, without a KMS call. A steady count is a row that something keeps re-reading
   * (a retry loop, a poison message).
   */
  default void ciphertextRefused(boolean fromMemory) {}

  /** Metrics that go nowhere. */
  static CryptoMetrics none() {
    return new CryptoMetrics() {};
  }
}
