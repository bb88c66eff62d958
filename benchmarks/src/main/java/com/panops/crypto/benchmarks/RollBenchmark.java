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
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
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

/**
 * The miss path in steady state: one tenant, 1 KiB encryptions from many threads ({@code -t 8}),
 * with a message limit of {@code maxMessages} so that the data key rolls every few thousand
 * messages. Single flight must hold: the aux log's {@code GenerateDataKey} count against {@code
 * operations / maxMessages}. panops-crypto beside the ESDK caching CMM with the same limit.
 *
 * <pre>{@code
 * java -jar benchmarks/target/benchmarks.jar RollBenchmark -t 8 -f 1 -wi 2 -w 2s -i 3 -r 2s
 * }</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class RollBenchmark {
  @Param({"4096"})
  public int maxMessages;

  @Param({"0", "5"})
  public int kmsLatencyMs;

  Fixtures.Kms kms;
  PanopsCrypto crypto;
  TenantCrypto tenant;
  AwsCrypto esdk;
  CryptoMaterialsManager cmm;
  byte[] plaintext;
  AuxLog.KmsCalls calls;
  final LongAdder ops = new LongAdder();

  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) {
    kms = Fixtures.kms(kmsLatencyMs);
    plaintext = Fixtures.plaintext(1024, 9);
    if (params.getBenchmark().contains(".ours")) {
      crypto =
          PanopsCrypto.builder()
              .kmsClient(kms.client())
              .allowInsecureLocalKmsEndpoint()
              .tenantDirectory(
                  TenantDirectory.of(Map.of(Fixtures.TENANT, TenantKeys.of(kms.arn()))))
              .cacheSettings(CacheSettings.builder().encryptMaxMessages(maxMessages).build())
              .probeSettings(ProbeSettings.off())
              .auditSink(AuditSink.none())
              .build();
      tenant = crypto.tenant(Fixtures.TENANT);
    } else {
      esdk = Envelopes.awsCrypto(64 * 1024);
      KmsMasterKeyProvider provider =
          KmsMasterKeyProvider.builder()
              .customRegionalClientSupplier(region -> kms.client())
              .defaultRegion(Region.US_EAST_1)
              .buildStrict(kms.arn());
      cmm =
          CachingCryptoMaterialsManager.newBuilder()
              .withMasterKeyProvider(provider)
              .withCache(new LocalCryptoMaterialsCache(1000))
              .withMaxAge(5, TimeUnit.MINUTES)
              .withMessageUseLimit(maxMessages)
              .build();
    }
    calls = new AuxLog.KmsCalls(kms.client());
  }

  @Setup(Level.Iteration)
  public void beginIteration() {
    calls.mark();
  }

  @TearDown(Level.Iteration)
  public void endIteration() {
    calls.accumulate();
  }

  @TearDown(Level.Trial)
  public void tearDown(BenchmarkParams params) {
    AuxLog.write(params, ops.sum(), calls, null);
    if (crypto != null) {
      crypto.close();
    }
  }

  @Benchmark
  public byte[] oursEncrypt() {
    ops.increment();
    return tenant.encrypt(plaintext, Fixtures.KEY_CONTEXT, Fixtures.AAD);
  }

  @Benchmark
  public byte[] esdkCachingEncrypt() {
    ops.increment();
    return esdk.encryptData(cmm, plaintext, Fixtures.CONTEXT).getResult();
  }
}
