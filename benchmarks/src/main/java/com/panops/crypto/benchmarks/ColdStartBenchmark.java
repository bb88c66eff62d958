package com.panops.crypto.benchmarks;

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
 * Cold start: the time of the first encryption, and of the first decryption (a cache miss), of 1
 * KiB on a freshly built instance of each implementation. Every measured call gets a new instance
 * (built in set-up, not timed); a decryption's ciphertext comes from another instance, so the
 * measured one has never seen its data key. Two ways to run it:
 *
 * <ul>
 *   <li>a cold JVM: each fork measures one call, the very first ({@code -f 3 -wi 0 -i 1}); class
 *       loading and interpreter time included;
 *   <li>a cache miss in a warm JVM: {@code -f 1 -wi 20 -i 30}; mostly the KMS round trip plus the
 *       key derivation and set-up the implementation does per data key.
 * </ul>
 *
 * <pre>{@code
 * java -jar benchmarks/target/benchmarks.jar ColdStartBenchmark -f 1 -wi 20 -i 30 \
 *     -jvmArgsAppend "-Xms2g -Xmx2g -XX:+AlwaysPreTouch" -rf json -rff coldstart-miss.json
 * }</pre>
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@State(Scope.Thread)
public class ColdStartBenchmark {
  @Param({"0", "5"})
  public int kmsLatencyMs;

  public int payloadSize = 1024;

  private Envelope.Impl impl;
  private boolean decrypting;
  private Fixtures.Kms kms;
  private byte[] plaintext;
  private byte[] ciphertext;
  private Envelope fresh;
  private AuxLog.KmsCalls calls;
  private long ops;

  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) {
    impl = Envelope.Impl.ofMethod(params.getBenchmark());
    decrypting = params.getBenchmark().endsWith("Decrypt");
    kms = Fixtures.kms(kmsLatencyMs);
    plaintext = Fixtures.plaintext(payloadSize, 7);
    calls = new AuxLog.KmsCalls(kms.client());
  }

  @Setup(Level.Iteration)
  public void newInstance() throws Exception {
    if (decrypting) {
      try (Envelope producer = Envelopes.create(impl, kms, null)) {
        ciphertext = producer.encrypt(plaintext);
      }
    }
    fresh = Envelopes.create(impl, kms, null);
    calls.mark();
  }

  @TearDown(Level.Iteration)
  public void closeInstance() {
    calls.accumulate();
    ops++;
    fresh.close();
  }

  @TearDown(Level.Trial)
  public void tearDown(BenchmarkParams params) {
    AuxLog.write(params, ops, calls, null);
  }

  @Benchmark
  public byte[] oursEncrypt() throws Exception {
    return fresh.encrypt(plaintext);
  }

  @Benchmark
  public byte[] oursDecrypt() throws Exception {
    return fresh.decrypt(ciphertext);
  }

  @Benchmark
  public byte[] rawGcmEncrypt() throws Exception {
    return fresh.encrypt(plaintext);
  }

  @Benchmark
  public byte[] rawGcmDecrypt() throws Exception {
    return fresh.decrypt(ciphertext);
  }

  @Benchmark
  public byte[] esdkCachingEncrypt() throws Exception {
    return fresh.encrypt(plaintext);
  }

  @Benchmark
  public byte[] esdkCachingDecrypt() throws Exception {
    return fresh.decrypt(ciphertext);
  }

  @Benchmark
  public byte[] esdkKeyringEncrypt() throws Exception {
    return fresh.encrypt(plaintext);
  }

  @Benchmark
  public byte[] esdkKeyringDecrypt() throws Exception {
    return fresh.decrypt(ciphertext);
  }

  @Benchmark
  public byte[] tinkEncrypt() throws Exception {
    return fresh.encrypt(plaintext);
  }

  @Benchmark
  public byte[] tinkDecrypt() throws Exception {
    return fresh.decrypt(ciphertext);
  }
}
