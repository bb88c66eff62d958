package com.panops.crypto.spring;

import com.panops.crypto.CacheSettings;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.metrics.CryptoMetrics;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * The library's metrics as the Actuator info contributor shows them (cache hits and misses, KMS
 * calls, probes and their last outcome), also passed on to a delegate (Micrometer when the
 * application has a {@code MeterRegistry}), and the settings the library was built with.
 * Thread-safe; the warm path (a cache hit) costs one {@link LongAdder} increment.
 */
public final class CryptoActivity {
  private record LastProbe(Instant at, boolean success, Duration latency) {}

  private final Clock clock;
  private final ProbeSettings probeSettings;
  private final CacheSettings cacheSettings;
  private final Integer frameSize;
  private final LongAdder encryptHits = new LongAdder();
  private final LongAdder encryptMisses = new LongAdder();
  private final LongAdder decryptHits = new LongAdder();
  private final LongAdder decryptMisses = new LongAdder();
  private final LongAdder kmsCalls = new LongAdder();
  private final LongAdder kmsFailures = new LongAdder();
  private final LongAdder probes = new LongAdder();
  private final LongAdder probeFailures = new LongAdder();
  private final LongAdder revocations = new LongAdder();
  private final LongAdder restorations = new LongAdder();
  private final AtomicReference<LastProbe> lastProbe = new AtomicReference<>();

  CryptoActivity(
      Clock clock, ProbeSettings probeSettings, CacheSettings cacheSettings, Integer frameSize) {
    this.clock = clock;
    this.probeSettings = probeSettings;
    this.cacheSettings = cacheSettings;
    this.frameSize = frameSize;
  }

  /** The metrics to give the library: recorded here, then passed on to {@code delegate}. */
  public CryptoMetrics recording(CryptoMetrics delegate) {
    return new Recorder(delegate);
  }

  private final class Recorder implements CryptoMetrics {
    private final CryptoMetrics delegate;

    Recorder(CryptoMetrics delegate) {
      this.delegate = delegate;
    }

    @Override
    public void cacheHit(String side) {
      ("encrypt".equals(side) ? encryptHits : decryptHits).increment();
      delegate.cacheHit(side);
    }

    @Override
    public void cacheMiss(String side) {
      ("encrypt".equals(side) ? encryptMisses : decryptMisses).increment();
      delegate.cacheMiss(side);
    }

    @Override
    public void kmsCall(String operation, String purpose, boolean success, Duration latency) {
      kmsCalls.increment();
      if (!success) {
        kmsFailures.increment();
      }
      delegate.kmsCall(operation, purpose, success, latency);
    }

    @Override
    public void revoked(RevocationReason reason) {
      revocations.increment();
      delegate.revoked(reason);
    }

    @Override
    public void restored() {
      restorations.increment();
      delegate.restored();
    }

    @Override
    public void probe(boolean success, Duration latency) {
      probes.increment();
      if (!success) {
        probeFailures.increment();
      }
      lastProbe.set(new LastProbe(clock.instant(), success, latency));
      delegate.probe(success, latency);
    }
  }

  /** The settings the library was built with. */
  public ProbeSettings probeSettings() {
    return probeSettings;
  }

  /** The settings the library was built with. */
  public CacheSettings cacheSettings() {
    return cacheSettings;
  }

  /** Cache state: its settings and hit and miss counts per side, as a JSON-friendly map. */
  public Map<String, Object> cacheDetails() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("encryptMaxAge", cacheSettings.encryptMaxAge().toString());
    m.put("encryptMaxMessages", cacheSettings.encryptMaxMessages());
    m.put("encryptMaxBytes", cacheSettings.encryptMaxBytes());
    m.put("encryptMaxEntries", cacheSettings.encryptMaxEntries());
    m.put("decryptMaxAge", cacheSettings.decryptMaxAge().toString());
    m.put("decryptMaxEntries", cacheSettings.decryptMaxEntries());
    m.put("encryptHits", encryptHits.sum());
    m.put("encryptMisses", encryptMisses.sum());
    m.put("decryptHits", decryptHits.sum());
    m.put("decryptMisses", decryptMisses.sum());
    if (frameSize != null) {
      m.put("frameSize", frameSize);
    }
    return m;
  }

  /** Probe state: its settings, counts and the last probe's outcome, as a JSON-friendly map. */
  public Map<String, Object> probeDetails() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("enabled", probeSettings.enabled());
    if (probeSettings.enabled()) {
      m.put("interval", probeSettings.interval().toString());
    }
    m.put("timeout", probeSettings.timeout().toString());
    m.put("settleProbes", probeSettings.settleProbes());
    m.put("settleTime", probeSettings.settleTime().toString());
    m.put("idleTimeout", probeSettings.idleTimeout().toString());
    m.put("probes", probes.sum());
    m.put("probeFailures", probeFailures.sum());
    LastProbe last = lastProbe.get();
    if (last != null) {
      m.put("lastProbeAt", last.at().toString());
      m.put("lastProbeSucceeded", last.success());
      m.put("lastProbeLatencyMs", last.latency().toMillis());
    }
    m.put("revocations", revocations.sum());
    m.put("restorations", restorations.sum());
    return m;
  }

  /** KMS call counts, as a JSON-friendly map. */
  public Map<String, Object> kmsDetails() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("calls", kmsCalls.sum());
    m.put("failures", kmsFailures.sum());
    return m;
  }
}
