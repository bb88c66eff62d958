package com.panops.crypto.benchmarks;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.s3.EncryptingS3Client;
import com.panops.crypto.testkit.s3.S3MockServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.List;
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
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.encryption.s3.S3EncryptionClient;
import software.amazon.encryption.s3.materials.KmsKeyring;

/**
 * The S3 adapter ({@link EncryptingS3Client}, default settings: single {@code PutObject} up to 100
 * MiB, multipart in 8 MiB parts above) beside a plain {@link S3Client} and the Amazon S3 Encryption
 * Client 4.x (KMS keyring over its own fake KMS, default settings) on the same S3Mock (plain HTTP
 * on 127.0.0.1, static credentials): put and get of one object, bodies streamed from and into
 * memory. Peak heap ({@link HeapSampler}) and KMS calls go to the aux log. S3Mock is started per
 * fork unless system property {@code panops.bench.s3.endpoint} names a running one.
 *
 * <pre>{@code
 * java -jar benchmarks/target/benchmarks.jar S3Benchmark -f 1 -wi 2 -w 2s -i 3 -r 3s -prof gc \
 *     -jvmArgsAppend "-Xms2g -Xmx2g -XX:+AlwaysPreTouch" -rf json -rff s3.json
 * }</pre>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Benchmark)
public class S3Benchmark {
  private static final String BUCKET = "bench";

  @Param({"1048576", "67108864"})
  public int objectSize;

  private S3MockServer server;
  private S3Client plain;
  private S3Client encrypting;
  private S3Client s3ec;
  private Fixtures.Kms s3ecKms;
  private Fixtures.Kms kms;
  private PanopsCrypto panops;
  private byte[] body;
  private final byte[] buffer = new byte[64 * 1024];
  private final AtomicLong ops = new AtomicLong();
  private AuxLog.KmsCalls calls;
  private AuxLog.KmsCalls s3ecCalls;
  private HeapSampler heap;

  @Setup(Level.Trial)
  public void setUp() {
    String external = System.getProperty("panops.bench.s3.endpoint");
    URI endpoint;
    if (external != null && !external.isBlank()) {
      endpoint = URI.create(external);
    } else {
      server =
          S3MockServer.builder(S3MockServer.locateJar())
              .initialBuckets(List.of(BUCKET))
              .maxHeap("1g")
              .start();
      endpoint = server.endpoint();
    }
    plain = client(endpoint);
    if (server == null) {
      try {
        plain.createBucket(r -> r.bucket(BUCKET));
      } catch (RuntimeException alreadyThere) {
        // an external S3Mock may have it from an earlier fork
      }
    }
    kms = Fixtures.kms(0);
    panops = Fixtures.panops(kms, null);
    encrypting =
        EncryptingS3Client.builder()
            .s3Client(client(endpoint))
            .crypto(panops)
            .tenant(Fixtures.TENANT)
            .keyContext(Fixtures.KEY_CONTEXT)
            .allowInsecureLocalS3Endpoint()
            .build();
    // The peer: the Amazon S3 Encryption Client 4.x on the same S3Mock, its KMS keyring over a
    // fake KMS of its own (same latency, 0 ms). Every client it could build points at S3Mock.
    s3ecKms = Fixtures.kms(0);
    s3ec =
        S3EncryptionClient.builderV4()
            .wrappedClient(client(endpoint))
            .keyring(
                KmsKeyring.builder()
                    .kmsClient(s3ecKms.client())
                    .wrappingKeyId(s3ecKms.arn())
                    .build())
            .endpointOverride(endpoint)
            .forcePathStyle(true)
            .region(Region.US_EAST_1)
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
            .build();
    body = Fixtures.plaintext(objectSize, 11);
    plain.putObject(r -> r.bucket(BUCKET).key(getKey("plain")), body(body));
    encrypting.putObject(r -> r.bucket(BUCKET).key(getKey("panops")), body(body));
    s3ec.putObject(r -> r.bucket(BUCKET).key(getKey("s3ec")), body(body));
    calls = new AuxLog.KmsCalls(kms.client());
    s3ecCalls = new AuxLog.KmsCalls(s3ecKms.client());
    heap = new HeapSampler();
    heap.start();
  }

  private static S3Client client(URI endpoint) {
    return S3Client.builder()
        .endpointOverride(endpoint)
        .forcePathStyle(true)
        .region(Region.US_EAST_1)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create("bench", "bench")))
        .build();
  }

  private String getKey(String who) {
    return who + "-get-" + objectSize;
  }

  /** A body of known length streamed from {@code b} without a copy. */
  private static RequestBody body(byte[] b) {
    return RequestBody.fromContentProvider(
        () -> new ByteArrayInputStream(b), b.length, "application/octet-stream");
  }

  @Setup(Level.Iteration)
  public void beginIteration() {
    calls.mark();
    s3ecCalls.mark();
  }

  @TearDown(Level.Iteration)
  public void endIteration() {
    calls.accumulate();
    s3ecCalls.accumulate();
  }

  @TearDown(Level.Trial)
  public void tearDown(BenchmarkParams params) {
    heap.close();
    Map<String, Long> extra = heap.result();
    boolean peer = params.getBenchmark().contains(".s3ec");
    AuxLog.write(params, ops.get(), peer ? s3ecCalls : calls, extra);
    s3ec.close();
    encrypting.close();
    plain.close();
    panops.close();
    if (server != null) {
      server.close();
    }
  }

  private long drain(InputStream in) throws IOException {
    long n = 0;
    int r;
    while ((r = in.read(buffer)) > 0) {
      n += r;
    }
    return n;
  }

  @Benchmark
  public Object plainPut() {
    ops.incrementAndGet();
    return plain.putObject(r -> r.bucket(BUCKET).key("plain-put-" + objectSize), body(body));
  }

  @Benchmark
  public Object panopsPut() {
    ops.incrementAndGet();
    return encrypting.putObject(r -> r.bucket(BUCKET).key("panops-put-" + objectSize), body(body));
  }

  @Benchmark
  public Object s3ecPut() {
    ops.incrementAndGet();
    return s3ec.putObject(r -> r.bucket(BUCKET).key("s3ec-put-" + objectSize), body(body));
  }

  @Benchmark
  public long s3ecGet() throws IOException {
    ops.incrementAndGet();
    try (ResponseInputStream<GetObjectResponse> in =
        s3ec.getObject(r -> r.bucket(BUCKET).key(getKey("s3ec")))) {
      return drain(in);
    }
  }

  @Benchmark
  public long plainGet() throws IOException {
    ops.incrementAndGet();
    try (ResponseInputStream<GetObjectResponse> in =
        plain.getObject(r -> r.bucket(BUCKET).key(getKey("plain")))) {
      return drain(in);
    }
  }

  @Benchmark
  public long panopsGet() throws IOException {
    ops.incrementAndGet();
    try (ResponseInputStream<GetObjectResponse> in =
        encrypting.getObject(r -> r.bucket(BUCKET).key(getKey("panops")))) {
      return drain(in);
    }
  }
}
