package com.panops.crypto.benchmarks;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import java.time.Duration;
import java.util.Arrays;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The kill switch's cost on the warm path: panops-crypto 1 KiB encryption and decryption with the
 * liveness probe every second versus the probe off (fake KMS, no added latency). The probe's {@code
 * Decrypt} calls show in the aux log.
 *
 * <pre>{@code
 * java -jar benchmarks/target/benchmarks.jar KillSwitchBenchmark -f 1 -wi 3 -w 1s -i 3 -r 2s \
 *     -jvmArgsAppend "-Xms2g -Xmx2g -XX:+AlwaysPreTouch" -rf json -rff killswitch.json
 * }</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class KillSwitchBenchmark {

  /** One library instance, probe on or off. */
  @State(Scope.Benchmark)
  public static class Shared {
    /** {@code off}, or the probe interval as {@code 1s}. */
    @Param({"off", "1s"})
    public String probe;

    public int payloadSize = 1024;

    Fixtures.Kms kms;
    PanopsCrypto panops;
    TenantCrypto tenant;
    AuxLog.KmsCalls calls;
    final Queue<PerThread> threads = new ConcurrentLinkedQueue<>();

    @Setup(Level.Trial)
    public void setUp() {
      kms = Fixtures.kms(0);
      Duration interval =
          probe.equals("off")
              ? null
              : Duration.parse("PT" + probe.toUpperCase(java.util.Locale.ROOT));
      panops = Fixtures.panops(kms, interval);
      tenant = panops.tenant(Fixtures.TENANT);
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
      long ops = 0;
      for (PerThread t : threads) {
        ops += t.ops;
      }
      AuxLog.write(params, ops, calls, null);
      panops.close();
    }
  }

  /** Inputs of one thread. */
  @State(Scope.Thread)
  public static class PerThread {
    byte[] plaintext;
    byte[] ciphertext;
    long ops;

    @Setup(Level.Trial)
    public void setUp(Shared s) {
      plaintext = Fixtures.plaintext(s.payloadSize, 31 + s.threads.size());
      ciphertext = s.tenant.encrypt(plaintext, Fixtures.KEY_CONTEXT, Fixtures.AAD);
      if (!Arrays.equals(
          plaintext, s.tenant.decrypt(ciphertext, Fixtures.KEY_CONTEXT, Fixtures.AAD))) {
        throw new IllegalStateException("does not round-trip");
      }
      s.threads.add(this);
    }
  }

  @Benchmark
  public byte[] oursEncrypt(Shared s, PerThread t) {
    t.ops++;
    return s.tenant.encrypt(t.plaintext, Fixtures.KEY_CONTEXT, Fixtures.AAD);
  }

  @Benchmark
  public byte[] oursDecrypt(Shared s, PerThread t) {
    t.ops++;
    return s.tenant.decrypt(t.ciphertext, Fixtures.KEY_CONTEXT, Fixtures.AAD);
  }
}
