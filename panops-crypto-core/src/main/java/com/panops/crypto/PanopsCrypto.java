package com.panops.crypto;

import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.cache.DataKeyCache;
import com.panops.crypto.cache.RefusedCiphertexts;
import com.panops.crypto.format.FrameCipher;
import com.panops.crypto.format.MessageFormat;
import com.panops.crypto.kms.Endpoints;
import com.panops.crypto.kms.KmsGateway;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.observe.GuardedMetrics;
import com.panops.crypto.revocation.KeyState;
import com.panops.crypto.revocation.Revocations;
import java.security.Provider;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The entry point: envelope encryption under each tenant's customer master key (CMK), with a
 * data-key cache and a kill switch.
 *
 * <pre>{@code
 * PanopsCrypto crypto = PanopsCrypto.builder()
 *     .kmsClient(kms)                                   // a KmsClient you built (HTTPS)
 *     .tenantDirectory(TenantDirectory.of(Map.of("acme", TenantKeys.of(acmeCmkArn))))
 *     .build();
 * TenantCrypto acme = crypto.tenant("acme");
 * byte[] ct = acme.encrypt(body, KeyContext.of("class", "mail"), MessageAad.of("row", "42"));
 * byte[] pt = acme.decrypt(ct, KeyContext.of("class", "mail"), MessageAad.of("row", "42"));
 * }</pre>
 *
 * <p>Thread-safe: build one per process and share it. {@link #close()} stops the probe threads and
 * wipes the cached data keys; it does not close the {@code KmsClient}.
 */
public final class PanopsCrypto implements AutoCloseable {
  final KmsGateway kms;
  final DataKeyCache cache;
  final Revocations revocations;
  final TenantDirectory directory;

  /** The encrypted data keys KMS refused as one ciphertext's failure, to Decrypt. */
  final RefusedCiphertexts refusals;

  /**
   * The same for ReEncrypt, kept apart: a re-wrap's verdict never answers a Decrypt (a ReEncrypt
   * can be refused for reasons a Decrypt of the same ciphertext is not).
   */
  final RefusedCiphertexts rewrapRefusals;

  final CacheSettings cacheSettings;
  final ProbeSettings probeSettings;
  final CryptoMetrics metrics;
  final int frameSize;
  final Clock clock;

  /** The JCE provider of AES-GCM, or {@code null} for the JCA's choice. */
  final Provider cipherProvider;

  /** The compact values' registry rows, or {@code null} when no registry is configured. */
  final RegistryRows rows;

  private final ConcurrentHashMap<String, TenantCrypto> tenants = new ConcurrentHashMap<>();

  private PanopsCrypto(Builder b) {
    KmsClientFactory factory = b.factory;
    boolean allowHttp = b.allowInsecureLocalEndpoint;
    ConcurrentHashMap<KmsClient, Boolean> checked = new ConcurrentHashMap<>();
    KmsGateway.ClientResolver resolver =
        arn -> {
          KmsClient c = factory.clientFor(arn);
          if (c == null) {
            throw new IllegalStateException("KmsClientFactory returned no client for " + arn);
          }
          if (!checked.containsKey(c)) {
            Endpoints.checkEndpoint(c, allowHttp);
            checked.put(c, Boolean.TRUE);
          }
          return c;
        };
    this.metrics = GuardedMetrics.of(b.metrics);
    this.kms = new KmsGateway(resolver, b.auditSink, metrics, b.clock, allowHttp);
    this.cacheSettings = b.cacheSettings;
    this.probeSettings = b.probeSettings;
    this.cache =
        new DataKeyCache(
            cacheSettings.encryptMaxAge(),
            cacheSettings.encryptMaxEntries(),
            cacheSettings.decryptMaxAge(),
            cacheSettings.decryptMaxEntries(),
            b.ticker);
    this.revocations =
        new Revocations(
            kms,
            cache::purge,
            b.listeners,
            metrics,
            b.ticker,
            b.clock,
            probeSettings,
            b.coordinator);
    this.refusals = new RefusedCiphertexts(metrics, b.ticker);
    this.rewrapRefusals = new RefusedCiphertexts(metrics, b.ticker);
    this.directory = b.directory;
    this.frameSize = b.frameSize;
    this.clock = b.clock;
    this.cipherProvider = b.cipherProvider;
    this.rows = b.registry == null ? null : new RegistryRows(b.registry, b.ticker);
  }

  /** A new builder. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The encryption operations of one tenant, with the keys the directory gives for it now. Cheap;
   * the returned object is thread-safe and may be kept, but it keeps the keys it was made with:
   * call this again to see a change in the directory (a key rotation).
   *
   * @throws IllegalArgumentException if the tenant id is empty or unknown to the directory
   * @throws IllegalStateException if this instance is closed
   */
  public TenantCrypto tenant(String tenantId) {
    revocations.checkOpen();
    if (tenantId == null
        || tenantId.isEmpty()
        || tenantId.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
            > MessageFormat.MAX_TENANT_LENGTH) {
      throw new IllegalArgumentException("tenant id must be 1..256 UTF-8 bytes");
    }
    CanonicalPairs.requireWellFormed(tenantId, "tenant", "id");
    TenantKeys keys = directory.keysOf(tenantId);
    if (keys == null) {
      throw new IllegalArgumentException("unknown tenant: " + tenantId);
    }
    TenantCrypto t = tenants.get(tenantId);
    if (t != null && t.keys.equalsKeys(keys)) {
      return t;
    }
    TenantCrypto fresh = new TenantCrypto(this, tenantId, keys);
    tenants.put(tenantId, fresh);
    return fresh;
  }

  /**
   * Probes {@code keyArn} now and reports whether KMS decrypted its canary: the probe starts after
   * this call (one already in flight is waited out first). A success lifts a latch set by a
   * transport failure; a latch set by a customer action is lifted only once the key has settled
   * (see {@link ProbeSettings}: several successful probes over the settle time). Blocks for one or
   * two KMS round trips, at most the probe timeout each; {@code false} if it did not finish in
   * time. Needs a key this instance has used.
   *
   * @throws IllegalArgumentException if the key was never used by this instance
   * @throws IllegalStateException if this instance is closed
   */
  public boolean probe(String keyArn) {
    revocations.checkOpen();
    KeyState s = revocations.existingState(keyArn);
    if (s == null) {
      throw new IllegalArgumentException("key not in use: " + keyArn);
    }
    return revocations.probeFresh(s);
  }

  /** Whether {@code keyArn} is latched as revoked right now. */
  public boolean isRevoked(String keyArn) {
    KeyState s = revocations.existingState(keyArn);
    return s != null && s.isRevoked();
  }

  /** Whether a {@link DataKeyRegistry} is configured (compact values can be written and read). */
  public boolean hasDataKeyRegistry() {
    return rows != null;
  }

  boolean isClosed() {
    return revocations.isClosed();
  }

  /**
   * Stops the probes and refresh ahead and retires every cached data key (its bytes are zeroed as
   * soon as the operations still using it finish). A KMS call already running on one of the
   * library's background threads is interrupted and waited for (up to 5 seconds per thread pool),
   * so its audit event has been delivered when this returns: the audit is final, and no call the
   * library started reaches KMS later without one. Calls made on the caller's own threads are not
   * waited for. From then on every operation, including on streams already open, fails with {@link
   * IllegalStateException}. Idempotent.
   */
  @Override
  public void close() {
    revocations.close();
    cache.close();
    refusals.clear();
    rewrapRefusals.clear();
    if (rows != null) {
      rows.clear();
    }
  }

  @Override
  public String toString() {
    return "PanopsCrypto["
        + cacheSettings
        + ", "
        + probeSettings
        + ", frameSize="
        + frameSize
        + (cipherProvider == null ? "" : ", cipherProvider=" + cipherProvider.getName())
        + "]";
  }

  /**
   * Builds {@link PanopsCrypto}. Exactly one of {@link #kmsClient} and {@link #kmsClientFactory} is
   * required, and a {@link #tenantDirectory}; everything else has a default. Not thread-safe.
   */
  public static final class Builder {
    private KmsClientFactory factory;
    private KmsClient singleClient;
    private TenantDirectory directory;
    private CacheSettings cacheSettings = CacheSettings.defaults();
    private ProbeSettings probeSettings = ProbeSettings.defaults();
    private AuditSink auditSink = AuditSink.slf4j();
    private CryptoMetrics metrics = CryptoMetrics.none();
    private final List<RevocationListener> listeners = new ArrayList<>();
    private Ticker ticker = Ticker.systemTicker();
    private Clock clock = Clock.systemUTC();
    private int frameSize = MessageFormat.DEFAULT_FRAME_SIZE;
    private boolean allowInsecureLocalEndpoint;
    private ProbeCoordinator coordinator;
    private DataKeyRegistry registry;
    private Provider cipherProvider;

    private Builder() {}

    /**
     * The JCE provider of the AES-GCM that seals and opens every message; default {@code null}: the
     * JCA's choice, the highest-priority provider offering {@code AES/GCM/NoPadding} when a thread
     * first encrypts or decrypts (so a provider the application installs first, such as {@code
     * AmazonCorrettoCryptoProvider.install()} before the first operation, is used without this
     * setting). The library ships no provider and depends on none. Setting one, for example the
     * Amazon Corretto Crypto Provider ({@code AmazonCorrettoCryptoProvider.INSTANCE}), is faster on
     * large messages; the message format is the same whatever the provider, so ciphertexts written
     * with one provider decrypt with any other.
     *
     * <p>FIPS: the library does not make a deployment FIPS-validated. An application that needs a
     * validated module installs one itself (ACCP-FIPS, or BouncyCastle FIPS) and passes it here or
     * installs it at the highest priority; KMS itself is validated on the AWS side.
     *
     * <p>The provider is checked here: it must offer {@code Cipher.AES/GCM/NoPadding} and seal and
     * open one message with a 256-bit key.
     *
     * @param provider the provider, or {@code null} for the JCA's choice
     * @throws IllegalArgumentException naming the provider if it does not offer AES-GCM or fails
     *     the check
     */
    public Builder cipherProvider(Provider provider) {
      if (provider != null) {
        FrameCipher.checkProvider(provider);
      }
      this.cipherProvider = provider;
      return this;
    }

    /**
     * Where the data keys of compact values are registered (docs/FORMAT.md, "Compact values");
     * default none, and then {@link TenantCrypto#encryptCompact} is refused and compact values do
     * not decrypt. The JDBC module's {@code PostgresDataKeyRegistry} is one.
     */
    public Builder dataKeyRegistry(DataKeyRegistry r) {
      this.registry = Objects.requireNonNull(r, "registry");
      return this;
    }

    /** The KMS client for every key. It must have an HTTPS endpoint (see below). */
    public Builder kmsClient(KmsClient client) {
      Objects.requireNonNull(client, "client");
      if (factory != null) {
        throw new IllegalStateException("a KMS client or client factory was already set");
      }
      this.factory = arn -> client;
      this.singleClient = client;
      return this;
    }

    /** A client per key (per region or account). */
    public Builder kmsClientFactory(KmsClientFactory f) {
      Objects.requireNonNull(f, "factory");
      if (factory != null) {
        throw new IllegalStateException("a KMS client or client factory was already set");
      }
      this.factory = f;
      return this;
    }

    /** Where tenants' keys are looked up. */
    public Builder tenantDirectory(TenantDirectory d) {
      this.directory = Objects.requireNonNull(d, "directory");
      return this;
    }

    /** The data-key cache limits; default {@link CacheSettings#defaults()}. */
    public Builder cacheSettings(CacheSettings s) {
      this.cacheSettings = Objects.requireNonNull(s, "cacheSettings");
      return this;
    }

    /** The liveness probe; default {@link ProbeSettings#defaults()} (every 5 s). */
    public Builder probeSettings(ProbeSettings s) {
      this.probeSettings = Objects.requireNonNull(s, "probeSettings");
      return this;
    }

    /**
     * Shares liveness probes with a fleet of workers (see {@link ProbeCoordinator} for what it may
     * and may not do); default none: this worker probes every key it uses. The coordinator is
     * started by {@link #build()} and closed with the {@link PanopsCrypto}; it needs probes
     * enabled.
     */
    public Builder probeCoordinator(ProbeCoordinator c) {
      Objects.requireNonNull(c, "probeCoordinator");
      if (coordinator != null) {
        throw new IllegalStateException("a probe coordinator was already set");
      }
      this.coordinator = c;
      return this;
    }

    /** Where an event for every KMS call goes; default {@link AuditSink#slf4j()}. */
    public Builder auditSink(AuditSink s) {
      this.auditSink = Objects.requireNonNull(s, "auditSink");
      return this;
    }

    /** Where counters go; default none. */
    public Builder metrics(CryptoMetrics m) {
      this.metrics = Objects.requireNonNull(m, "metrics");
      return this;
    }

    /** Adds a listener for revoked and restored events. */
    public Builder addRevocationListener(RevocationListener l) {
      listeners.add(Objects.requireNonNull(l, "listener"));
      return this;
    }

    /** The clock of cache ages and probe staleness (tests inject a fake). */
    public Builder ticker(Ticker t) {
      this.ticker = Objects.requireNonNull(t, "ticker");
      return this;
    }

    /** The clock of event timestamps. */
    public Builder clock(Clock c) {
      this.clock = Objects.requireNonNull(c, "clock");
      return this;
    }

    /** Plaintext bytes per frame of new messages: 4 KiB .. 4 MiB, default 64 KiB. */
    public Builder frameSize(int bytes) {
      if (bytes < MessageFormat.MIN_FRAME_SIZE || bytes > MessageFormat.MAX_FRAME_SIZE) {
        throw new IllegalArgumentException(
            "frame size must be "
                + MessageFormat.MIN_FRAME_SIZE
                + ".."
                + MessageFormat.MAX_FRAME_SIZE);
      }
      this.frameSize = bytes;
      return this;
    }

    /**
     * Accepts plain HTTP to a literal loopback address (127.0.0.0/8 or {@code ::1}, never a name),
     * and clients that answer without sending requests through the AWS SDK's HTTP pipeline
     * (in-process test doubles): for LocalKms in tests and local development only. Without this,
     * every KMS request is checked as it is sent and refused unless its URI is HTTPS, whatever set
     * the endpoint (an override, an endpoint provider), and a client whose requests bypass that
     * check is refused; a client whose endpoint override is plain HTTP is also refused at build
     * time, as early feedback.
     */
    public Builder allowInsecureLocalKmsEndpoint() {
      this.allowInsecureLocalEndpoint = true;
      return this;
    }

    /**
     * Builds, checking that the required settings are present.
     *
     * @throws IllegalStateException if no KMS client (or factory) or no tenant directory was set
     */
    public PanopsCrypto build() {
      if (factory == null) {
        throw new IllegalStateException(
            "exactly one of kmsClient and kmsClientFactory must be set");
      }
      if (directory == null) {
        throw new IllegalStateException("tenantDirectory must be set");
      }
      if (singleClient != null) {
        Endpoints.checkEndpoint(singleClient, allowInsecureLocalEndpoint);
      }
      if (coordinator != null && !probeSettings.enabled()) {
        throw new IllegalStateException("a probe coordinator needs probes enabled");
      }
      return new PanopsCrypto(this);
    }
  }
}
