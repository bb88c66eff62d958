package com.panops.crypto.benchmarks;

import com.amazonaws.encryptionsdk.AwsCrypto;
import com.amazonaws.encryptionsdk.CryptoMaterialsManager;
import com.amazonaws.encryptionsdk.caching.LocalCryptoMaterialsCache;
import com.panops.crypto.AuditSink;
import com.panops.crypto.CacheSettings;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.FakeKmsClient;
import com.panops.crypto.testkit.ForwardingKmsClient;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
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
import org.openjdk.jmh.infra.BenchmarkParams;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.EncryptRequest;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;

/**
 * Many tenants, as a connector worker sees them: {@code tenants} tenants, each with its own CMK,
 * chosen by a Zipf distribution (s = 1: tenant of rank k with probability proportional to 1/k),
 * half encryptions of 1 KiB and half decryptions of a message the tenant wrote earlier (under
 * another instance, so its data key is not cached at start), through a cache whose capacity is
 * below the number of keys: {@code capacity} data keys in all (panops-crypto: half on the encrypt
 * side, half on the decrypt side; the ESDK caching CMM: one {@link LocalCryptoMaterialsCache} of
 * that many entries shared by the tenants' CMMs, partitioned by tenant), same age and usage limits.
 * KMS is the in-process fake with {@code kmsLatencyMs} per call.
 *
 * <p>{@code impl}: {@code ours} (probe off), {@code ours+probe} (probe every 5 s), {@code
 * esdkCaching}. Written to the aux log: data-key KMS calls ({@code GenerateDataKey} and {@code
 * Decrypt} of data keys; their complement per operation is the hit ratio), probe calls, the
 * measured time (for KMS calls per second), retained heap per cached key (measured after the run,
 * outside the timed part: every tenant encrypts and decrypts once, so both caches hold exactly
 * {@code capacity} data keys; the live heap then, minus the live heap after the same instance is
 * built again with an empty cache, both after a full GC, divided by {@code capacity}; see {@link
 * #retainedBytesPerCachedKey}), and with probing: probe lag (time since each active key's last
 * successful probe, sampled every 100 ms: p50, p99, max), probes run by request threads, and
 * requests that found their key's last probe older than two intervals (the library's "must confirm
 * before use" rule; an upper bound of the requests that waited for a probe, since data-key loads
 * also prove a key alive).
 *
 * <pre>{@code
 * java -jar benchmarks/target/benchmarks.jar ManyTenantsBenchmark -f 1 -wi 2 -w 5s -i 3 -r 5s \
 *     -jvmArgsAppend "-Xms2g -Xmx2g -XX:+AlwaysPreTouch"
 * }</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class ManyTenantsBenchmark {
  static final Duration PROBE_INTERVAL = Duration.ofSeconds(5);

  @Param({"ours", "ours+probe", "esdkCaching"})
  public String impl;

  @Param({"10000"})
  public int tenants;

  @Param({"2000"})
  public int capacity;

  @Param({"5"})
  public int kmsLatencyMs;

  /** Zipf exponent. */
  @Param({"1.0"})
  public double zipf;

  FakeKmsClient fake;
  Counting kms;
  String[] arns;
  double[] cdf;
  byte[] plaintext;
  byte[][] ciphertexts;
  // ours
  PanopsCrypto crypto;
  TenantCrypto[] ours;
  // the ESDK
  AwsCrypto esdk;
  CryptoMaterialsManager[] cmms;
  Map<String, TenantKeys> dir;
  // accounting
  long iterationStart;
  long measuredNanos;
  final AtomicLong ops = new AtomicLong();
  long dataKeyCalls0;
  long probeCalls0;
  long dataKeyCalls;
  long probeCalls;
  Thread lagSampler;
  volatile boolean sampling;
  final AtomicLongArray lagHistogramMs = new AtomicLongArray(120_001); // 0..120 s, in ms
  final AtomicLong staleRequests = new AtomicLong();

  /** Counts data-key calls apart from probe calls, and when each key was last probed. */
  static final class Counting extends ForwardingKmsClient {
    final AtomicLong dataKeyCalls = new AtomicLong();
    final AtomicLong probeCalls = new AtomicLong();
    final AtomicLong probesOnRequestThreads = new AtomicLong();
    final ConcurrentHashMap<String, Long> lastProbe = new ConcurrentHashMap<>();

    Counting(FakeKmsClient fake) {
      super(fake);
    }

    private static boolean isProbe(Map<String, String> ctx) {
      return "liveness-probe".equals(ctx.get("panops:purpose"));
    }

    @Override
    public GenerateDataKeyResponse generateDataKey(GenerateDataKeyRequest r) {
      dataKeyCalls.incrementAndGet();
      return delegate.generateDataKey(r);
    }

    @Override
    public EncryptResponse encrypt(EncryptRequest r) {
      if (isProbe(r.encryptionContext())) {
        probeCalls.incrementAndGet();
      }
      return delegate.encrypt(r);
    }

    @Override
    public DecryptResponse decrypt(DecryptRequest r) {
      boolean probe = isProbe(r.encryptionContext());
      DecryptResponse answer = delegate.decrypt(r);
      if (probe) {
        probeCalls.incrementAndGet();
        lastProbe.put(r.keyId(), System.nanoTime());
        if (!Thread.currentThread().getName().startsWith("panops-crypto-probe")) {
          probesOnRequestThreads.incrementAndGet();
        }
      } else {
        dataKeyCalls.incrementAndGet();
      }
      return answer;
    }
  }

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    fake = new FakeKmsClient();
    kms = new Counting(fake);
    arns = new String[tenants];
    Map<String, TenantKeys> dir = new HashMap<>();
    for (int i = 0; i < tenants; i++) {
      arns[i] = fake.createKey("k" + i);
      dir.put("t" + i, TenantKeys.of(arns[i]));
    }
    cdf = zipfCdf(tenants, zipf);
    plaintext = Fixtures.plaintext(1024, 5);
    ciphertexts = new byte[tenants][];
    this.dir = dir;
    if (impl.startsWith("ours")) {
      writeWithOurs(dir);
    } else if (impl.equals("esdkCaching")) {
      esdk = Envelopes.awsCrypto();
      writeWithEsdk();
    } else {
      throw new IllegalArgumentException("impl " + impl);
    }
    buildInstance();
    fake.latency(Duration.ofMillis(kmsLatencyMs));
    if (impl.equals("ours+probe")) {
      sampling = true;
      lagSampler = new Thread(this::sampleLag, "probe-lag-sampler");
      lagSampler.setDaemon(true);
      lagSampler.start();
    }
  }

  /**
   * The instance under test, with an empty cache (ours: a new PanopsCrypto; the ESDK: new CMMs).
   */
  private void buildInstance() {
    if (impl.startsWith("ours")) {
      crypto =
          PanopsCrypto.builder()
              .kmsClient(kms)
              .allowInsecureLocalKmsEndpoint()
              .tenantDirectory(TenantDirectory.of(dir))
              .cacheSettings(
                  CacheSettings.builder()
                      .encryptMaxEntries(capacity / 2)
                      .decryptMaxEntries(capacity - capacity / 2)
                      .build())
              .probeSettings(
                  impl.equals("ours+probe")
                      ? ProbeSettings.every(PROBE_INTERVAL)
                      : ProbeSettings.off())
              .auditSink(AuditSink.none())
              .build();
      ours = new TenantCrypto[tenants];
      for (int i = 0; i < tenants; i++) {
        ours[i] = crypto.tenant("t" + i);
      }
    } else {
      LocalCryptoMaterialsCache shared = new LocalCryptoMaterialsCache(capacity);
      cmms = new CryptoMaterialsManager[tenants];
      for (int i = 0; i < tenants; i++) {
        cmms[i] = Envelopes.esdkCachingCmm(kms, arns[i], shared, "t" + i);
      }
    }
  }

  /**
   * Retained heap per cached data key, measured so that it cannot depend on how full the run left
   * the cache ("live heap after the run minus after set-up" ÷ capacity would, and reads negative
   * for the ESDK when a short run has not filled its cache): with KMS at 0 ms, every tenant
   * encrypts once and decrypts once (10,000 tenants against a capacity of 2,000: both caches are
   * full, at exactly {@code capacity} entries in all); live heap A. Then the instance is closed and
   * built again exactly as in set-up, with an empty cache; live heap B. The difference is what the
   * cached keys hold (entries, key material, the cache's own nodes), the per-tenant objects being
   * in both. Live heap = used heap after three {@code System.gc()} calls.
   */
  private double retainedBytesPerCachedKey() throws Exception {
    fake.latency(Duration.ZERO);
    for (int i = 0; i < tenants; i++) {
      mixedOp(i, true);
      mixedOp(i, false);
    }
    long full = liveHeap();
    if (crypto != null) {
      crypto.close();
    }
    crypto = null;
    ours = null;
    cmms = null;
    buildInstance();
    long empty = liveHeap();
    return (full - empty) / (double) capacity;
  }

  /**
   * The messages to decrypt, written by an instance of their own (in a method of their own, so that
   * nothing of the writer is still reachable when the live heap after set-up is measured).
   */
  private void writeWithOurs(Map<String, TenantKeys> dir) {
    try (PanopsCrypto writer =
        PanopsCrypto.builder()
            .kmsClient(fake)
            .allowInsecureLocalKmsEndpoint()
            .tenantDirectory(TenantDirectory.of(dir))
            .probeSettings(ProbeSettings.off())
            .auditSink(AuditSink.none())
            .build()) {
      for (int i = 0; i < tenants; i++) {
        ciphertexts[i] =
            writer.tenant("t" + i).encrypt(plaintext, Fixtures.KEY_CONTEXT, Fixtures.AAD);
      }
    }
  }

  private void writeWithEsdk() {
    LocalCryptoMaterialsCache writerCache = new LocalCryptoMaterialsCache(16);
    for (int i = 0; i < tenants; i++) {
      CryptoMaterialsManager w = Envelopes.esdkCachingCmm(fake, arns[i], writerCache, "t" + i);
      ciphertexts[i] = esdk.encryptData(w, plaintext, Fixtures.CONTEXT).getResult();
    }
  }

  private void sampleLag() {
    while (sampling) {
      long now = System.nanoTime();
      for (Long last : kms.lastProbe.values()) {
        long ms = Math.min(lagHistogramMs.length() - 1, (now - last) / 1_000_000);
        lagHistogramMs.incrementAndGet((int) ms);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  static double[] zipfCdf(int n, double s) {
    double[] c = new double[n];
    double sum = 0;
    for (int k = 1; k <= n; k++) {
      sum += 1 / Math.pow(k, s);
      c[k - 1] = sum;
    }
    for (int k = 0; k < n; k++) {
      c[k] /= sum;
    }
    return c;
  }

  /** A tenant index drawn from the Zipf distribution. */
  static int draw(double[] cdf, double u) {
    int i = Arrays.binarySearch(cdf, u);
    return i >= 0 ? i : Math.min(cdf.length - 1, -i - 1);
  }

  static long liveHeap() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** Per-thread random source. */
  @State(Scope.Thread)
  public static class Rng {
    final SplittableRandom r = new SplittableRandom(Thread.currentThread().getId() * 7919L);
  }

  @Setup(Level.Iteration)
  public void beginIteration() {
    dataKeyCalls0 = kms.dataKeyCalls.get();
    probeCalls0 = kms.probeCalls.get();
    iterationStart = System.nanoTime();
  }

  @TearDown(Level.Iteration)
  public void endIteration() {
    measuredNanos += System.nanoTime() - iterationStart;
    dataKeyCalls += kms.dataKeyCalls.get() - dataKeyCalls0;
    probeCalls += kms.probeCalls.get() - probeCalls0;
  }

  @Benchmark
  public Object mixed(Rng rng) throws Exception {
    ops.incrementAndGet();
    int t = draw(cdf, rng.r.nextDouble());
    boolean encrypt = rng.r.nextBoolean();
    if (lagSampler != null) {
      Long last = kms.lastProbe.get(arns[t]);
      if (last != null && System.nanoTime() - last > 2 * PROBE_INTERVAL.toNanos()) {
        staleRequests.incrementAndGet();
      }
    }
    return mixedOp(t, encrypt);
  }

  private Object mixedOp(int t, boolean encrypt) throws Exception {
    if (ours != null) {
      return encrypt
          ? ours[t].encrypt(plaintext, Fixtures.KEY_CONTEXT, Fixtures.AAD)
          : ours[t].decrypt(ciphertexts[t], Fixtures.KEY_CONTEXT, Fixtures.AAD);
    }
    return encrypt
        ? esdk.encryptData(cmms[t], plaintext, Fixtures.CONTEXT).getResult()
        : esdk.decryptData(cmms[t], ciphertexts[t]).getResult();
  }

  @TearDown(Level.Trial)
  public void tearDown(BenchmarkParams params) throws Exception {
    sampling = false;
    Map<String, Number> extra = new LinkedHashMap<>();
    extra.put("dataKeyCalls", dataKeyCalls);
    extra.put("probeCalls", probeCalls);
    extra.put("measuredNanos", measuredNanos);
    if (lagSampler == null) {
      // with probes on, the probe schedule and this benchmark's per-key probe log would count too
      extra.put("retainedBytesPerCachedKey", retainedBytesPerCachedKey());
    }
    if (lagSampler != null) {
      extra.put("probeLagP50Ms", lagPercentile(0.50));
      extra.put("probeLagP99Ms", lagPercentile(0.99));
      extra.put("probeLagMaxMs", lagPercentile(1.0));
      extra.put("probesOnRequestThreads", kms.probesOnRequestThreads.get());
      extra.put("requestsOnStaleKeys", staleRequests.get());
      extra.put("keysProbed", kms.lastProbe.size());
    }
    AuxLog.write(params, ops.get(), null, extra);
    if (crypto != null) {
      crypto.close();
    }
  }

  private long lagPercentile(double q) {
    long total = 0;
    for (int i = 0; i < lagHistogramMs.length(); i++) {
      total += lagHistogramMs.get(i);
    }
    if (total == 0) {
      return -1;
    }
    long want = (long) Math.ceil(q * total);
    long seen = 0;
    for (int i = 0; i < lagHistogramMs.length(); i++) {
      seen += lagHistogramMs.get(i);
      if (seen >= want && lagHistogramMs.get(i) > 0) {
        return i;
      }
    }
    return lagHistogramMs.length() - 1;
  }
}
