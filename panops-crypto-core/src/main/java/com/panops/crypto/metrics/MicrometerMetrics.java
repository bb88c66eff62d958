package com.panops.crypto.metrics;

import com.panops.crypto.RevocationReason;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Objects;

/**
 * {@link CryptoMetrics} on a Micrometer {@link MeterRegistry}: {@code panops.crypto.cache} (tags
 * side, result), {@code panops.crypto.kms.calls} (timer; tags operation, purpose, outcome), {@code
 * panops.crypto.revocations} (tag reason), {@code panops.crypto.restorations}, {@code
 * panops.crypto.probe} (timer; tag outcome), {@code panops.crypto.probe.deferred} (probes that
 * waited for the probe budget). Thread-safe.
 */
public final class MicrometerMetrics implements CryptoMetrics {
  private final MeterRegistry registry;
  private final Counter encryptHits;
  private final Counter decryptHits;
  private final Counter encryptMisses;
  private final Counter decryptMisses;

  private MicrometerMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.encryptHits = cache("encrypt", "hit");
    this.decryptHits = cache("decrypt", "hit");
    this.encryptMisses = cache("encrypt", "miss");
    this.decryptMisses = cache("decrypt", "miss");
  }

  /** Metrics reported to {@code registry}. */
  public static MicrometerMetrics of(MeterRegistry registry) {
    return new MicrometerMetrics(Objects.requireNonNull(registry, "registry"));
  }

  private Counter cache(String side, String result) {
    return Counter.builder("panops.crypto.cache")
        .tag("side", side)
        .tag("result", result)
        .register(registry);
  }

  @Override
  public void cacheMiss(String side) {
    ("encrypt".equals(side) ? encryptMisses : decryptMisses).increment();
  }

  @Override
  public void cacheHit(String side) {
    ("encrypt".equals(side) ? encryptHits : decryptHits).increment();
  }

  @Override
  public void kmsCall(String operation, String purpose, boolean success, Duration latency) {
    Timer.builder("panops.crypto.kms.calls")
        .tag("operation", operation)
        .tag("purpose", purpose)
        .tag("outcome", success ? "success" : "failure")
        .register(registry)
        .record(latency);
  }

  @Override
  public void revoked(RevocationReason reason) {
    Counter.builder("panops.crypto.revocations")
        .tag("reason", reason.name())
        .register(registry)
        .increment();
  }

  @Override
  public void restored() {
    Counter.builder("panops.crypto.restorations").register(registry).increment();
  }

  @Override
  public void probe(boolean success, Duration latency) {
    Timer.builder("panops.crypto.probe")
        .tag("outcome", success ? "success" : "failure")
        .register(registry)
        .record(latency);
  }

  @Override
  public void probeDeferred() {
    Counter.builder("panops.crypto.probe.deferred").register(registry).increment();
  }

  @Override
  public void ciphertextRefused(boolean fromMemory) {
    Counter.builder("panops.crypto.ciphertext.refused")
        .tag("answered", fromMemory ? "memory" : "kms")
        .register(registry)
        .increment();
  }
}
