package com.panops.crypto.benchmarks;

import com.panops.crypto.AuditSink;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.FakeKmsClient;
import com.panops.crypto.testkit.ForwardingKmsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;

/**
 * The probe engine at fleet scale: {@code keys} CMKs, every one in use, probed every 5 s through a
 * fake KMS with 5 ms of latency (at 10,000 keys, 2,000 probes/s from one worker), while the
 * benchmark thread decrypts warm messages under random keys. Reports warm-decrypt latency
 * percentiles (JMH sample mode; the target: p99.9 at 10,000 keys no more than 2× the p99.9 at 100
 * keys) and, at tear-down, how regularly each key was probed: the largest gap between two probes of
 * one key (the target: every key probed within its interval).
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar ProbeScaleBenchmark -f 2 -wi 1 -w 10s -i 3 -r 10s
 * </pre>
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
public class ProbeScaleBenchmark {
  static final Duration INTERVAL = Duration.ofSeconds(5);
  static final Duration KMS_LATENCY = Duration.ofMillis(5);

  @Param({"100", "10000"})
  public int keys;

  FakeKmsClient fake;
  ProbeLog log;
  PanopsCrypto crypto;
  TenantCrypto[] tenants;
  byte[][] ciphertexts;

  /** A KMS client that records when each key's canary was decrypted. */
  static final class ProbeLog extends ForwardingKmsClient {
    final ConcurrentHashMap<String, long[]> probes = new ConcurrentHashMap<>(); // {last, maxGap, n}
    volatile long since = Long.MAX_VALUE;

    ProbeLog(FakeKmsClient fake) {
      super(fake);
    }

    @Override
    public DecryptResponse decrypt(DecryptRequest r) {
      DecryptResponse answer = delegate.decrypt(r);
      if (isProbe(r)) {
        long now = System.nanoTime();
        if (now >= since) {
          probes.compute(
              r.keyId(),
              (k, v) -> {
                if (v == null) {
                  return new long[] {now, 0, 1};
                }
                v[1] = Math.max(v[1], now - v[0]);
                v[0] = now;
                v[2]++;
                return v;
              });
        }
      }
      return answer;
    }
  }

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    fake = new FakeKmsClient();
    Map<String, TenantKeys> dir = new HashMap<>();
    for (int i = 0; i < keys; i++) {
      dir.put("t" + i, TenantKeys.of(fake.createKey("k" + i)));
    }
    fake.latency(KMS_LATENCY);
    log = new ProbeLog(fake);
    crypto =
        PanopsCrypto.builder()
            .kmsClient(log)
            .allowInsecureLocalKmsEndpoint() // an in-process fake
            .tenantDirectory(TenantDirectory.of(dir))
            .probeSettings(ProbeSettings.every(INTERVAL))
            .auditSink(AuditSink.none())
            .build();
    tenants = new TenantCrypto[keys];
    ciphertexts = new byte[keys][];
    // Put every key in use: one message each, 64 at a time (each costs a 5 ms GenerateDataKey).
    ExecutorService pool = Executors.newFixedThreadPool(64);
    List<Future<?>> done = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      int n = i;
      done.add(
          pool.submit(
              () -> {
                tenants[n] = crypto.tenant("t" + n);
                ciphertexts[n] =
                    tenants[n].encrypt(new byte[1024], Fixtures.KEY_CONTEXT, Fixtures.AAD);
              }));
    }
    for (Future<?> f : done) {
      f.get();
    }
    pool.shutdown();
    log.since = System.nanoTime() + INTERVAL.toNanos(); // after the first round of probes
  }

  @Benchmark
  public byte[] warmDecryptOfARandomKey() {
    int n = ThreadLocalRandom.current().nextInt(keys);
    return tenants[n].decrypt(ciphertexts[n], Fixtures.KEY_CONTEXT, Fixtures.AAD);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    crypto.close();
    long[] gaps = new long[log.probes.size()];
    int i = 0;
    long probesSeen = 0;
    for (long[] v : log.probes.values()) {
      gaps[i++] = v[1];
      probesSeen += v[2];
    }
    Arrays.sort(gaps);
    long over = Arrays.stream(gaps).filter(g -> g > INTERVAL.toNanos() + 250_000_000L).count();
    System.out.printf(
        "%nprobe-scale keys=%d probedKeys=%d probes=%d maxGapMs=%.0f p99GapMs=%.0f"
            + " keysWithAGapOverIntervalPlus250ms=%d%n",
        keys,
        gaps.length,
        probesSeen,
        gaps.length == 0 ? 0.0 : gaps[gaps.length - 1] / 1e6,
        gaps.length == 0 ? 0.0 : gaps[(int) Math.min(gaps.length - 1, gaps.length * 0.99)] / 1e6,
        over);
  }
}
