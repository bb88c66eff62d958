package com.panops.crypto.benchmarks;

import com.amazonaws.encryptionsdk.AwsCrypto;
import com.amazonaws.encryptionsdk.CryptoMaterialsManager;
import com.amazonaws.encryptionsdk.caching.CachingCryptoMaterialsManager;
import com.amazonaws.encryptionsdk.caching.LocalCryptoMaterialsCache;
import com.amazonaws.encryptionsdk.kmssdkv2.KmsMasterKeyProvider;
import com.panops.crypto.AuditSink;
import com.panops.crypto.CacheSettings;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.ForwardingKmsClient;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;

/**
 * Tail latency across data-key expiry: warm 1 KiB encryption and decryption (JMH sample mode: p50,
 * p99, p99.9, max) with data keys that expire every {@code maxAgeMs} and {@code kmsLatencyMs} of
 * KMS latency, so that each measured iteration crosses several expiries. panops-crypto refreshes a
 * warm key ahead of its age (no request should wait for KMS: the target is p99.9 ≤ 2× p50); the
 * ESDK caching CMM, with the same age, loads on the request that meets the expired key. KMS calls
 * and the measured time go to the aux log: {@code GenerateDataKey} per second against {@code 1 /
 * maxAge} shows the price of refreshing ahead (a key rolled by age lives its age minus the lead,
 * {@code min(age / 16, 5 s)}).
 *
 * <pre>{@code
 * java -jar benchmarks/target/benchmarks.jar TailLatencyBenchmark -f 1 -wi 2 -w 3s -i 3 -r 5s \
 *     -jvmArgsAppend "-Xms2g -Xmx2g -XX:+AlwaysPreTouch"
 * }</pre>
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Benchmark)
public class TailLatencyBenchmark {
  @Param({"5"})
  public int kmsLatencyMs;

  /**
   * Data-key age; 3600000 (no expiry within a run) gives the same workload's tail without expiry.
   */
  @Param({"1000"})
  public int maxAgeMs;

  Fixtures.Kms kms;
  PanopsCrypto crypto;
  TenantCrypto tenant;
  AwsCrypto esdk;
  CryptoMaterialsManager cmm;
  byte[] plaintext;
  byte[] ours;
  byte[] theirs;
  AuxLog.KmsCalls calls;
  long ops;
  long measuredNanos;
  long iterationStart;

  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) {
    kms = Fixtures.kms(kmsLatencyMs);
    requestThreads = new RequestThreadCalls(kms.client());
    plaintext = Fixtures.plaintext(1024, 3);
    Duration age = Duration.ofMillis(maxAgeMs);
    if (params.getBenchmark().contains(".ours")) {
      crypto =
          PanopsCrypto.builder()
              .kmsClient(requestThreads)
              .allowInsecureLocalKmsEndpoint()
              .tenantDirectory(
                  TenantDirectory.of(Map.of(Fixtures.TENANT, TenantKeys.of(kms.arn()))))
              .cacheSettings(CacheSettings.builder().encryptMaxAge(age).decryptMaxAge(age).build())
              .probeSettings(ProbeSettings.off())
              .auditSink(AuditSink.none())
              .build();
      tenant = crypto.tenant(Fixtures.TENANT);
      ours = tenant.encrypt(plaintext, Fixtures.KEY_CONTEXT, Fixtures.AAD);
    } else {
      esdk = Envelopes.awsCrypto(64 * 1024);
      KmsMasterKeyProvider provider =
          KmsMasterKeyProvider.builder()
              .customRegionalClientSupplier(region -> requestThreads)
              .defaultRegion(Region.US_EAST_1)
              .buildStrict(kms.arn());
      cmm =
          CachingCryptoMaterialsManager.newBuilder()
              .withMasterKeyProvider(provider)
              .withCache(new LocalCryptoMaterialsCache(1000))
              .withMaxAge(maxAgeMs, TimeUnit.MILLISECONDS)
              .withMessageUseLimit(CacheSettings.defaults().encryptMaxMessages())
              .build();
      theirs = esdk.encryptData(cmm, plaintext, Fixtures.CONTEXT).getResult();
    }
    calls = new AuxLog.KmsCalls(kms.client());
    requestThreads.counting = true; // from here on: warm-up and measurement, not set-up
  }

  /**
   * Counts the data-key calls ({@code GenerateDataKey}, {@code Decrypt}) made on a request thread
   * (the library's background threads are named {@code panops-crypto-...}): each is a request that
   * waited for KMS. Sample mode times only a sample of the operations, so a handful of waits in
   * millions of operations may not show in the percentiles; this count sees every one.
   */
  static final class RequestThreadCalls extends ForwardingKmsClient {
    final AtomicLong calls = new AtomicLong();
    volatile boolean counting;

    RequestThreadCalls(KmsClient delegate) {
      super(delegate);
    }

    private void count() {
      if (counting && !Thread.currentThread().getName().startsWith("panops-crypto-")) {
        calls.incrementAndGet();
      }
    }

    @Override
    public GenerateDataKeyResponse generateDataKey(GenerateDataKeyRequest r) {
      count();
      return delegate.generateDataKey(r);
    }

    @Override
    public DecryptResponse decrypt(DecryptRequest r) {
      count();
      return delegate.decrypt(r);
    }
  }

  RequestThreadCalls requestThreads;

  @Setup(Level.Iteration)
  public void beginIteration() {
    calls.mark();
    iterationStart = System.nanoTime();
  }

  @TearDown(Level.Iteration)
  public void endIteration() {
    calls.accumulate();
    measuredNanos += System.nanoTime() - iterationStart;
  }

  @TearDown(Level.Trial)
  public void tearDown(BenchmarkParams params) {
    Map<String, Number> extra = new LinkedHashMap<>();
    extra.put("measuredNanos", measuredNanos);
    extra.put("kmsCallsOnRequestThreads", requestThreads.calls.get());
    AuxLog.write(params, ops, calls, extra);
    if (crypto != null) {
      crypto.close();
    }
  }

  @Benchmark
  public byte[] oursEncrypt() {
    ops++;
    return tenant.encrypt(plaintext, Fixtures.KEY_CONTEXT, Fixtures.AAD);
  }

  @Benchmark
  public byte[] oursDecrypt() {
    ops++;
    return tenant.decrypt(ours, Fixtures.KEY_CONTEXT, Fixtures.AAD);
  }

  @Benchmark
  public byte[] esdkCachingEncrypt() {
    ops++;
    return esdk.encryptData(cmm, plaintext, Fixtures.CONTEXT).getResult();
  }

  @Benchmark
  public byte[] esdkCachingDecrypt() {
    ops++;
    return esdk.decryptData(cmm, theirs).getResult();
  }
}
