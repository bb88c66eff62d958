package com.panops.crypto.s3;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.s3.S3MockServer;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

/**
 * The servers every IT of this module shares, started once per test JVM: LocalKms (in process) and
 * S3Mock (a child process). LocalKms keys are created before S3Mock starts, because S3Mock accepts
 * only SSE-KMS key ids it was given at start; tests draw fresh keys from that pool.
 */
final class S3TestEnv {
  static final Duration PROBE = Duration.ofMillis(300);

  /**
   * How long a customer-action latch must settle before it lifts (two successful probes at least
   * this far apart); short here because LocalKms applies key changes at once.
   */
  static final Duration SETTLE = Duration.ofMillis(300);

  private static final int KEY_POOL = 24;
  private static S3TestEnv instance;

  final LocalKms kms;
  final S3MockServer s3mock;
  final KmsClient kmsClient;
  final S3Client raw;
  final S3MockKmsKeyIds kmsKeyIds = new S3MockKmsKeyIds();
  private final List<String> keyPool = new ArrayList<>();
  private final AtomicInteger nextKey = new AtomicInteger();
  private final AtomicInteger nextBucket = new AtomicInteger();

  private S3TestEnv() {
    kms = LocalKms.start();
    for (int i = 0; i < KEY_POOL; i++) {
      keyPool.add(kms.createKey("s3-it-" + i));
    }
    s3mock = S3MockServer.builder(S3MockServer.locateJar()).validKmsKeys(keyPool).start();
    kmsClient =
        KmsClient.builder()
            .endpointOverride(kms.endpoint())
            .region(Region.of(kms.region()))
            .credentialsProvider(kms.vendor().credentialsProvider())
            .build();
    raw = s3Client().build();
  }

  /** The shared environment, started on first use; stopped when the JVM exits. */
  static synchronized S3TestEnv get() {
    if (instance == null) {
      instance = new S3TestEnv();
      S3TestEnv env = instance;
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    env.s3mock.close();
                    env.kms.close();
                  }));
    }
    return instance;
  }

  /** A builder of a plain S3 client for S3Mock: path style, static credentials, region. */
  S3ClientBuilder s3Client(ExecutionInterceptor... interceptors) {
    return S3Client.builder()
        .endpointOverride(s3mock.endpoint())
        .forcePathStyle(true)
        .region(Region.of(s3mock.region()))
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create("it-access", "it-secret")))
        .overrideConfiguration(
            o -> {
              o.addExecutionInterceptor(kmsKeyIds);
              for (ExecutionInterceptor i : interceptors) {
                o.addExecutionInterceptor(i);
              }
            });
  }

  /** A LocalKms key no other test uses (one S3Mock accepts for SSE-KMS while the pool lasts). */
  String freshKey() {
    int i = nextKey.getAndIncrement();
    return i < keyPool.size() ? keyPool.get(i) : kms.createKey("s3-it-extra-" + i);
  }

  /** A new, empty bucket. */
  String freshBucket() {
    String b = "it-" + nextBucket.incrementAndGet() + "-" + Long.toHexString(System.nanoTime());
    raw.createBucket(r -> r.bucket(b));
    return b;
  }

  /** A library instance over LocalKms for a one-tenant directory. */
  PanopsCrypto crypto(String tenant, String keyArn) {
    return crypto(TenantDirectory.of(Map.of(tenant, TenantKeys.of(keyArn))), 4096);
  }

  PanopsCrypto crypto(TenantDirectory dir, int frameSize) {
    return PanopsCrypto.builder()
        .kmsClient(kmsClient)
        .tenantDirectory(dir)
        .allowInsecureLocalKmsEndpoint()
        .probeSettings(ProbeSettings.every(PROBE).withSettle(2, SETTLE))
        .frameSize(frameSize)
        .build();
  }

  /** An encrypting client over a fresh raw client with these interceptors. */
  EncryptingS3Client.Builder client(
      PanopsCrypto crypto, String tenant, ExecutionInterceptor... interceptors) {
    return client(crypto, tenant, s3Client(interceptors).build());
  }

  /** An encrypting client over the given raw client, which may be a local endpoint. */
  static EncryptingS3Client.Builder client(PanopsCrypto crypto, String tenant, S3Client raw) {
    return EncryptingS3Client.builder()
        .s3Client(raw)
        .crypto(crypto)
        .tenant(tenant)
        .allowInsecureLocalS3Endpoint();
  }

  /** A GET of the object that names a key context and extra AAD, as the reader gives them. */
  static Consumer<GetObjectRequest.Builder> getWith(
      String bucket, String key, KeyContext kc, MessageAad aad) {
    return r -> r.bucket(bucket).key(key).overrideConfiguration(RequestEncryption.with(kc, aad));
  }

  /** A PUT of the object that binds a key context and extra AAD. */
  static Consumer<PutObjectRequest.Builder> putWith(
      String bucket, String key, KeyContext kc, MessageAad aad) {
    return r -> r.bucket(bucket).key(key).overrideConfiguration(RequestEncryption.with(kc, aad));
  }

  // ------------------------------------------------------------ data

  /** Deterministic bytes: {@code length} bytes of the stream seeded with {@code seed}. */
  static byte[] bytes(long seed, int length) {
    byte[] b = new byte[length];
    try (InputStream in = new PatternStream(seed, length)) {
      int off = 0;
      while (off < length) {
        off += in.read(b, off, length - off);
      }
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    return b;
  }

  static String sha256(InputStream in) throws IOException {
    MessageDigest md = sha();
    byte[] buf = new byte[64 * 1024];
    int n;
    while ((n = in.read(buf)) > 0) {
      md.update(buf, 0, n);
    }
    return java.util.HexFormat.of().formatHex(md.digest());
  }

  static MessageDigest sha() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }
}
