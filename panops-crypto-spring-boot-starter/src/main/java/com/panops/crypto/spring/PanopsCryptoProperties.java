package com.panops.crypto.spring;

import com.panops.crypto.CacheSettings;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantKeys;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * The {@code panops.crypto.*} settings. A name that is not one of them fails the start (a misspelt
 * security setting must not be ignored). Every setting left unset keeps the library's default (see
 * the root README's configuration reference); each is checked by the library's own builders, so a
 * value out of range fails the context start with the builder's message.
 */
@ConfigurationProperties(prefix = "panops.crypto", ignoreUnknownFields = false)
public class PanopsCryptoProperties {
  /**
   * Accept plain HTTP to a literal loopback KMS endpoint (LocalKms) and in-process KMS doubles. For
   * tests and local runs only; refused outside loopback by the library.
   */
  private boolean allowInsecureLocalKmsEndpoint;

  /** Plaintext bytes per frame of new messages (4KB .. 4MB); library default 64KB. */
  private DataSize frameSize;

  /**
   * A static tenant directory (tenant id to CMK ARNs), used when no TenantDirectory bean exists.
   */
  private Map<String, Tenant> tenants = new LinkedHashMap<>();

  private final Probe probe = new Probe();
  private final Cache cache = new Cache();
  private final Kms kms = new Kms();
  private final S3 s3 = new S3();
  private final Jdbc jdbc = new Jdbc();
  private final Health health = new Health();

  public boolean isAllowInsecureLocalKmsEndpoint() {
    return allowInsecureLocalKmsEndpoint;
  }

  public void setAllowInsecureLocalKmsEndpoint(boolean allow) {
    this.allowInsecureLocalKmsEndpoint = allow;
  }

  public DataSize getFrameSize() {
    return frameSize;
  }

  public void setFrameSize(DataSize frameSize) {
    this.frameSize = frameSize;
  }

  public Map<String, Tenant> getTenants() {
    return tenants;
  }

  public void setTenants(Map<String, Tenant> tenants) {
    this.tenants = tenants;
  }

  public Probe getProbe() {
    return probe;
  }

  public Cache getCache() {
    return cache;
  }

  public Kms getKms() {
    return kms;
  }

  public S3 getS3() {
    return s3;
  }

  public Jdbc getJdbc() {
    return jdbc;
  }

  public Health getHealth() {
    return health;
  }

  /** One tenant of the static directory. */
  public static class Tenant {
    /** The CMK that encrypts (and decrypts). */
    private String keyArn;

    /** Older CMKs that may still decrypt (after a migration). */
    private List<String> decryptOnlyKeyArns = new ArrayList<>();

    public String getKeyArn() {
      return keyArn;
    }

    public void setKeyArn(String keyArn) {
      this.keyArn = keyArn;
    }

    public List<String> getDecryptOnlyKeyArns() {
      return decryptOnlyKeyArns;
    }

    public void setDecryptOnlyKeyArns(List<String> arns) {
      this.decryptOnlyKeyArns = arns;
    }

    TenantKeys toKeys(String tenantId) {
      if (keyArn == null || keyArn.isBlank()) {
        throw new IllegalStateException(
            "panops.crypto.tenants." + tenantId + ".key-arn must be set");
      }
      return TenantKeys.of(keyArn, List.copyOf(decryptOnlyKeyArns));
    }
  }

  /** The liveness probe ({@link ProbeSettings}). */
  public static class Probe {
    /** Scheduled probing; off only for benchmarks (a disabled key is then seen on a miss only). */
    private boolean enabled = true;

    /** Probe interval per active CMK (50ms .. 5m). */
    private Duration interval = Duration.ofSeconds(5);

    /** Bound of each probe's KMS calls and of a request's wait for a probe. */
    private Duration timeout;

    /** Consecutive successful probes before a customer-action latch lifts (library default 3). */
    private Integer settleProbes;

    /** The time those probes must span (library default 10s). */
    private Duration settleTime;

    /** Most probe threads (library default 64). */
    private Integer threads;

    /** A CMK unused this long stops being probed (library default 10m). */
    private Duration idleTimeout;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public Duration getInterval() {
      return interval;
    }

    public void setInterval(Duration interval) {
      this.interval = interval;
    }

    public Duration getTimeout() {
      return timeout;
    }

    public void setTimeout(Duration timeout) {
      this.timeout = timeout;
    }

    public Integer getSettleProbes() {
      return settleProbes;
    }

    public void setSettleProbes(Integer settleProbes) {
      this.settleProbes = settleProbes;
    }

    public Duration getSettleTime() {
      return settleTime;
    }

    public void setSettleTime(Duration settleTime) {
      this.settleTime = settleTime;
    }

    public Integer getThreads() {
      return threads;
    }

    public void setThreads(Integer threads) {
      this.threads = threads;
    }

    public Duration getIdleTimeout() {
      return idleTimeout;
    }

    public void setIdleTimeout(Duration idleTimeout) {
      this.idleTimeout = idleTimeout;
    }

    ProbeSettings toSettings() {
      ProbeSettings.Builder b = ProbeSettings.builder();
      if (enabled) {
        b.interval(interval);
      } else {
        b.off();
      }
      if (timeout != null) {
        b.timeout(timeout);
      }
      if (settleProbes != null || settleTime != null) {
        b.settle(
            settleProbes != null ? settleProbes : 3,
            settleTime != null ? settleTime : Duration.ofSeconds(10));
      }
      if (threads != null) {
        b.threads(threads);
      }
      if (idleTimeout != null) {
        b.idleTimeout(idleTimeout);
      }
      return b.build();
    }
  }

  /** The data-key cache ({@link CacheSettings}). */
  public static class Cache {
    /** Longest a data key encrypts (library default 5m). */
    private Duration encryptMaxAge;

    /** Most messages one data key encrypts (library default 2^24, ceiling 2^30). */
    private Long encryptMaxMessages;

    /** Most plaintext bytes one data key encrypts (library default 64GB, ceiling 4TB). */
    private DataSize encryptMaxBytes;

    /** Size of the encrypt-side cache (library default 10,000). */
    private Long encryptMaxEntries;

    /** Longest a decrypted data key is kept (library default 5m). */
    private Duration decryptMaxAge;

    /** Size of the decrypt-side cache (library default 100,000). */
    private Long decryptMaxEntries;

    public Duration getEncryptMaxAge() {
      return encryptMaxAge;
    }

    public void setEncryptMaxAge(Duration d) {
      this.encryptMaxAge = d;
    }

    public Long getEncryptMaxMessages() {
      return encryptMaxMessages;
    }

    public void setEncryptMaxMessages(Long n) {
      this.encryptMaxMessages = n;
    }

    public DataSize getEncryptMaxBytes() {
      return encryptMaxBytes;
    }

    public void setEncryptMaxBytes(DataSize n) {
      this.encryptMaxBytes = n;
    }

    public Long getEncryptMaxEntries() {
      return encryptMaxEntries;
    }

    public void setEncryptMaxEntries(Long n) {
      this.encryptMaxEntries = n;
    }

    public Duration getDecryptMaxAge() {
      return decryptMaxAge;
    }

    public void setDecryptMaxAge(Duration d) {
      this.decryptMaxAge = d;
    }

    public Long getDecryptMaxEntries() {
      return decryptMaxEntries;
    }

    public void setDecryptMaxEntries(Long n) {
      this.decryptMaxEntries = n;
    }

    CacheSettings toSettings() {
      CacheSettings.Builder b = CacheSettings.builder();
      if (encryptMaxAge != null) {
        b.encryptMaxAge(encryptMaxAge);
      }
      if (encryptMaxMessages != null) {
        b.encryptMaxMessages(encryptMaxMessages);
      }
      if (encryptMaxBytes != null) {
        b.encryptMaxBytes(encryptMaxBytes.toBytes());
      }
      if (encryptMaxEntries != null) {
        b.encryptMaxEntries(encryptMaxEntries);
      }
      if (decryptMaxAge != null) {
        b.decryptMaxAge(decryptMaxAge);
      }
      if (decryptMaxEntries != null) {
        b.decryptMaxEntries(decryptMaxEntries);
      }
      return b.build();
    }
  }

  /**
   * The KmsClient built when the application has none (the SDK's default credentials chain). An
   * application KmsClient bean always wins.
   */
  public static class Kms {
    /** Region of the built client; unset: the SDK's default region chain. */
    private String region;

    /** Endpoint override of the built client (must be HTTPS unless the loopback opt-in is set). */
    private URI endpoint;

    /**
     * A named profile of the shared AWS config and credentials files for the built client (its
     * credentials, or a role it assumes; a role profile needs software.amazon.awssdk:sts); unset:
     * the SDK's default credentials chain.
     */
    private String profile;

    /**
     * Describe each configured CMK at start-up (kms:DescribeKey): a wrong ARN, a key in another
     * region or a key that cannot encrypt fails the start. Set false for very many tenants.
     */
    private boolean verifyKeysOnStartup = true;

    public String getProfile() {
      return profile;
    }

    public void setProfile(String profile) {
      this.profile = profile;
    }

    public boolean isVerifyKeysOnStartup() {
      return verifyKeysOnStartup;
    }

    public void setVerifyKeysOnStartup(boolean verifyKeysOnStartup) {
      this.verifyKeysOnStartup = verifyKeysOnStartup;
    }

    public String getRegion() {
      return region;
    }

    public void setRegion(String region) {
      this.region = region;
    }

    public URI getEndpoint() {
      return endpoint;
    }

    public void setEndpoint(URI endpoint) {
      this.endpoint = endpoint;
    }
  }

  /** The encrypting S3Client. */
  public static class S3 {
    /** Wrap the application's S3Client in EncryptingS3Client (made the primary S3Client). */
    private boolean enabled;

    /** The tenant whose CMK encrypts through the wrapped client (required when enabled). */
    private String tenant;

    /** Key context of every request that sets none (library default service=s3). */
    private Map<String, String> keyContext = new LinkedHashMap<>();

    /** Also ask S3 for SSE-KMS under the tenant's CMK. */
    private boolean sseKms;

    /** Accept a plain-HTTP loopback S3 endpoint (S3Mock); tests and local runs only. */
    private boolean allowInsecureLocalS3Endpoint;

    /** Bean name of the S3Client to wrap, when the application has more than one. */
    private String clientBeanName;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public String getTenant() {
      return tenant;
    }

    public void setTenant(String tenant) {
      this.tenant = tenant;
    }

    public Map<String, String> getKeyContext() {
      return keyContext;
    }

    public void setKeyContext(Map<String, String> keyContext) {
      this.keyContext = keyContext;
    }

    public boolean isSseKms() {
      return sseKms;
    }

    public void setSseKms(boolean sseKms) {
      this.sseKms = sseKms;
    }

    public boolean isAllowInsecureLocalS3Endpoint() {
      return allowInsecureLocalS3Endpoint;
    }

    public void setAllowInsecureLocalS3Endpoint(boolean allow) {
      this.allowInsecureLocalS3Endpoint = allow;
    }

    public String getClientBeanName() {
      return clientBeanName;
    }

    public void setClientBeanName(String clientBeanName) {
      this.clientBeanName = clientBeanName;
    }
  }

  /** TLS enforcement of PostgreSQL connections. */
  public static class Jdbc {
    /**
     * Put TlsEnforcingDataSource (sslmode=verify-full) under every HikariCP pool, on the physical
     * DataSource; a DataSource bean that cannot be checked fails the context start.
     */
    private boolean requireVerifyFull;

    /** Open (and close) one checked physical connection per DataSource during start-up. */
    private boolean verifyOnStartup = true;

    public boolean isRequireVerifyFull() {
      return requireVerifyFull;
    }

    public void setRequireVerifyFull(boolean requireVerifyFull) {
      this.requireVerifyFull = requireVerifyFull;
    }

    public boolean isVerifyOnStartup() {
      return verifyOnStartup;
    }

    public void setVerifyOnStartup(boolean verifyOnStartup) {
      this.verifyOnStartup = verifyOnStartup;
    }
  }

  /** The Actuator health indicator. */
  public static class Health {
    /**
     * Health status while some CMK is latched as revoked. Default UP (with the latched keys in the
     * details): one tenant's revoked key is that tenant's decision, not an outage of the service.
     * Set DOWN or OUT_OF_SERVICE for a single-tenant service.
     */
    private String revokedStatus = "UP";

    public String getRevokedStatus() {
      return revokedStatus;
    }

    public void setRevokedStatus(String revokedStatus) {
      this.revokedStatus = revokedStatus;
    }
  }
}
