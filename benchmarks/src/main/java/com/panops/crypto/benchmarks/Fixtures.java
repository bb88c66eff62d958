package com.panops.crypto.benchmarks;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import com.panops.crypto.AuditSink;
import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.FakeKmsClient;
import java.nio.charset.StandardCharsets;
import java.security.Provider;
import java.time.Duration;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * What every implementation is given, so that they are compared on the same work: one in-process
 * fake KMS per implementation (same latency), one CMK, the same small encryption context, the same
 * plaintexts.
 */
public final class Fixtures {
  /** The tenant of panops-crypto's directory. */
  public static final String TENANT = "bench";

  /**
   * The encryption context every implementation authenticates: panops-crypto's key context, the AWS
   * Encryption SDK's encryption context, and (encoded) the associated data of Tink and raw GCM.
   */
  public static final Map<String, String> CONTEXT = Map.of("class", "benchmark", "purpose", "jmh");

  /** {@link #CONTEXT} as panops-crypto's key context. */
  public static final KeyContext KEY_CONTEXT = KeyContext.from(CONTEXT);

  /** panops-crypto's message AAD: none, since {@link #CONTEXT} is already authenticated. */
  public static final MessageAad AAD = MessageAad.empty();

  /** {@link #CONTEXT} as bytes, the associated data of Tink and raw GCM. */
  public static final byte[] CONTEXT_BYTES = encode(CONTEXT);

  private Fixtures() {}

  /** A new fake KMS with one key, {@code latencyMs} of added latency per call. */
  public static Kms kms(int latencyMs) {
    FakeKmsClient fake = new FakeKmsClient();
    String arn = fake.createKey("bench-cmk");
    fake.latency(Duration.ofMillis(latencyMs));
    return new Kms(fake, arn);
  }

  /** A fake KMS and its one CMK. */
  public record Kms(FakeKmsClient client, String arn) {}

  /**
   * panops-crypto over {@code kms}, one tenant, default cache settings, no audit events, the probe
   * as given (off or every {@code probe}).
   */
  public static PanopsCrypto panops(Kms kms, Duration probe) {
    return panops(kms, probe, null);
  }

  /** The same with AES-GCM from {@code cipherProvider} ({@code null}: the JCA's choice). */
  public static PanopsCrypto panops(Kms kms, Duration probe, Provider cipherProvider) {
    return PanopsCrypto.builder()
        .kmsClient(kms.client())
        .allowInsecureLocalKmsEndpoint() // an in-process fake: no HTTP to check
        .tenantDirectory(TenantDirectory.of(Map.of(TENANT, TenantKeys.of(kms.arn()))))
        .probeSettings(probe == null ? ProbeSettings.off() : ProbeSettings.every(probe))
        .auditSink(AuditSink.none())
        .cipherProvider(cipherProvider)
        .build();
  }

  /**
   * The Amazon Corretto Crypto Provider, not installed (passed explicitly where used).
   *
   * @throws IllegalStateException with ACCP's loading error if its native library did not load
   */
  public static Provider accp() {
    Throwable error = AmazonCorrettoCryptoProvider.INSTANCE.getLoadingError();
    if (error != null) {
      throw new IllegalStateException("ACCP did not load: " + error, error);
    }
    return AmazonCorrettoCryptoProvider.INSTANCE;
  }

  /** {@code size} pseudo-random bytes (deterministic per seed). */
  public static byte[] plaintext(int size, long seed) {
    byte[] b = new byte[size];
    SplittableRandom r = new SplittableRandom(seed);
    for (int i = 0; i < size; i++) {
      b[i] = (byte) r.nextInt(256);
    }
    return b;
  }

  private static byte[] encode(Map<String, String> m) {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, String> e : new TreeMap<>(m).entrySet()) {
      sb.append(e.getKey()).append('\0').append(e.getValue()).append('\0');
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }
}
