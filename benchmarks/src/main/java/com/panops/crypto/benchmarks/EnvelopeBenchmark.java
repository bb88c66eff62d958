package com.panops.crypto.benchmarks;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
 * Warm-path throughput of whole-message encryption and decryption: panops-crypto ({@code byte[]}
 * and streaming) beside raw JDK AES-GCM (the ceiling), both also on the Amazon Corretto Crypto
 * Provider ({@code oursAccp}, {@code rawGcmAccp}: ACCP passed explicitly, never installed), the AWS
 * Encryption SDK 3.x (caching CMM, and KMS keyring without cache) and Tink's {@code
 * KmsEnvelopeAead}. Every implementation has its own in-process fake KMS with {@code kmsLatencyMs}
 * of latency per call; the KMS calls made during the iterations are written to the aux log ({@link
 * AuxLog}). Each fork runs one method, so only that implementation is built. Per-thread state:
 * plaintext, ciphertext and stream buffers are prepared in set-up; raw GCM has a {@code Cipher} and
 * a DRBG per thread.
 *
 * <pre>{@code
 * ./mvnw -B -q -pl benchmarks -am package -DskipTests
 * java -jar benchmarks/target/benchmarks.jar EnvelopeBenchmark -t 1 -f 1 -wi 3 -w 1s -i 3 -r 1s \
 *     -p payloadSize=1024 -p kmsLatencyMs=0 -prof gc \
 *     -jvmArgsAppend "-Xms2g -Xmx2g -XX:+AlwaysPreTouch" -rf json -rff envelope.json
 * }</pre>
 *
 * <p>Use {@code -t 2} for two threads. Payloads over 64 KiB need a long warm-up ({@code -wi 6 -w
 * 2s}): single-shot JDK GCM over a large buffer runs slowly until the JIT compiles its other path.
 * {@code benchmarks/run-all.sh} runs the whole suite.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class EnvelopeBenchmark {

  /** The implementation under test, shared by the threads (except raw GCM's cipher). */
  @State(Scope.Benchmark)
  public static class Shared {
    @Param({"64", "1024", "65536", "1048576"})
    public int payloadSize;

    @Param({"0", "5"})
    public int kmsLatencyMs;

    Envelope.Impl impl;
    Fixtures.Kms kms;
    PanopsCrypto panops;
    TenantCrypto tenant;
    Envelope shared;
    AuxLog.KmsCalls calls;
    final Queue<PerThread> threads = new ConcurrentLinkedQueue<>();

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws Exception {
      impl = Envelope.Impl.ofMethod(params.getBenchmark());
      kms = Fixtures.kms(kmsLatencyMs);
      if (impl.isOurs()) {
        panops =
            Fixtures.panops(kms, null, impl == Envelope.Impl.OURS_ACCP ? Fixtures.accp() : null);
        tenant = panops.tenant(Fixtures.TENANT);
      }
      shared = impl.isRawGcm() ? null : Envelopes.create(impl, kms, panops);
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
      if (panops != null) {
        panops.close();
      }
    }
  }

  /** Inputs and buffers of one thread. */
  @State(Scope.Thread)
  public static class PerThread {
    Envelope envelope;
    byte[] plaintext;
    byte[] ciphertext;
    ReusableOutputStream sink;
    ByteArrayInputStream source;
    final byte[] buffer = new byte[64 * 1024];
    long ops;

    @Setup(Level.Trial)
    public void setUp(Shared s) throws Exception {
      envelope = s.impl.isRawGcm() ? Envelopes.create(s.impl, null, null) : s.shared;
      plaintext = Fixtures.plaintext(s.payloadSize, 17 + s.threads.size());
      ciphertext = envelope.encrypt(plaintext);
      if (!Arrays.equals(plaintext, envelope.decrypt(ciphertext))) {
        throw new IllegalStateException(s.impl + " does not round-trip");
      }
      sink = new ReusableOutputStream(ciphertext.length + 4096);
      source = new ByteArrayInputStream(ciphertext);
      s.threads.add(this);
    }
  }

  // ---------------------------------------------------------------- panops-crypto, byte[]

  @Benchmark
  public byte[] oursEncrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.encrypt(t.plaintext);
  }

  @Benchmark
  public byte[] oursDecrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.decrypt(t.ciphertext);
  }

  // ---------------------------------------------------------------- panops-crypto, streams

  @Benchmark
  public int oursStreamEncrypt(Shared s, PerThread t) throws IOException {
    t.ops++;
    t.sink.reset();
    try (OutputStream out = s.tenant.encryptingStream(t.sink, Fixtures.KEY_CONTEXT, Fixtures.AAD)) {
      out.write(t.plaintext);
    }
    return t.sink.size();
  }

  @Benchmark
  public long oursStreamDecrypt(Shared s, PerThread t) throws IOException {
    t.ops++;
    t.source.reset();
    long n = 0;
    try (InputStream in = s.tenant.decryptingStream(t.source, Fixtures.KEY_CONTEXT, Fixtures.AAD)) {
      int r;
      while ((r = in.read(t.buffer)) > 0) {
        n += r;
      }
    }
    return n;
  }

  // ---------------------------------------------------------------- raw JDK AES-GCM

  @Benchmark
  public byte[] rawGcmEncrypt(PerThread t) throws Exception {
    t.ops++;
    return t.envelope.encrypt(t.plaintext);
  }

  @Benchmark
  public byte[] rawGcmDecrypt(PerThread t) throws Exception {
    t.ops++;
    return t.envelope.decrypt(t.ciphertext);
  }

  // ---------------------------------------------------------------- on ACCP (not installed)

  @Benchmark
  public byte[] oursAccpEncrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.encrypt(t.plaintext);
  }

  @Benchmark
  public byte[] oursAccpDecrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.decrypt(t.ciphertext);
  }

  @Benchmark
  public byte[] rawGcmAccpEncrypt(PerThread t) throws Exception {
    t.ops++;
    return t.envelope.encrypt(t.plaintext);
  }

  @Benchmark
  public byte[] rawGcmAccpDecrypt(PerThread t) throws Exception {
    t.ops++;
    return t.envelope.decrypt(t.ciphertext);
  }

  // ---------------------------------------------------------------- AWS Encryption SDK

  @Benchmark
  public byte[] esdkCachingEncrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.encrypt(t.plaintext);
  }

  @Benchmark
  public byte[] esdkCachingDecrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.decrypt(t.ciphertext);
  }

  @Benchmark
  public byte[] esdkCaching64kEncrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.encrypt(t.plaintext);
  }

  @Benchmark
  public byte[] esdkCaching64kDecrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.decrypt(t.ciphertext);
  }

  @Benchmark
  public int esdkStreamEncrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    t.sink.reset();
    try (OutputStream out = s.shared.encryptingStream(t.sink)) {
      out.write(t.plaintext);
    }
    return t.sink.size();
  }

  @Benchmark
  public long esdkStreamDecrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    t.source.reset();
    long n = 0;
    try (InputStream in = s.shared.decryptingStream(t.source)) {
      int r;
      while ((r = in.read(t.buffer)) > 0) {
        n += r;
      }
    }
    return n;
  }

  @Benchmark
  public byte[] esdkKeyringEncrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.encrypt(t.plaintext);
  }

  @Benchmark
  public byte[] esdkKeyringDecrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.decrypt(t.ciphertext);
  }

  // ---------------------------------------------------------------- Tink

  @Benchmark
  public byte[] tinkEncrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.encrypt(t.plaintext);
  }

  @Benchmark
  public byte[] tinkDecrypt(Shared s, PerThread t) throws Exception {
    t.ops++;
    return s.shared.decrypt(t.ciphertext);
  }
}
