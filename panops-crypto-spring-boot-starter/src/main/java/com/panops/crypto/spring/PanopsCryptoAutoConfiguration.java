package com.panops.crypto.spring;

import com.panops.crypto.AuditSink;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.metrics.MicrometerMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.KmsClientBuilder;

/**
 * Builds one {@link PanopsCrypto} per application context from {@code panops.crypto.*}, the
 * application's {@link TenantDirectory} bean (or {@code panops.crypto.tenants}), its {@link
 * KmsClient} bean (or one from the SDK's default provider chain), its {@link AuditSink} bean (or
 * SLF4J) and its Micrometer {@code MeterRegistry}; publishes every {@link
 * com.panops.crypto.RevocationEvent} as a Spring application event; closes the library when the
 * context closes. The health indicator and the info contributor are in {@link
 * PanopsCryptoActuatorAutoConfiguration}.
 */
@AutoConfiguration
@ConditionalOnClass(PanopsCrypto.class)
@EnableConfigurationProperties(PanopsCryptoProperties.class)
public class PanopsCryptoAutoConfiguration {
  private static final Logger log = LoggerFactory.getLogger(PanopsCryptoAutoConfiguration.class);

  /**
   * A KmsClient from the SDK's default credentials and region chains (with {@code
   * panops.crypto.kms.region}, {@code .profile} and {@code .endpoint} if set), only when the
   * application has none. Closed with the context.
   */
  @Bean
  @ConditionalOnMissingBean
  public KmsClient panopsKmsClient(PanopsCryptoProperties properties) {
    PanopsCryptoProperties.Kms k = properties.getKms();
    KmsClientBuilder b = KmsClient.builder();
    if (k.getRegion() != null) {
      if (k.getRegion().isBlank()) {
        throw new PanopsCryptoStartupException(
            "panops.crypto.kms.region is blank.",
            "Set it to the region of the tenants' CMKs (for example us-east-1), or remove it to"
                + " use the SDK's region chain.",
            null);
      }
      b.region(Region.of(k.getRegion().trim()));
    }
    if (k.getProfile() != null && !k.getProfile().isBlank()) {
      ProfileCredentialsProvider profile = ProfileCredentialsProvider.create(k.getProfile().trim());
      try {
        profile.resolveCredentials(); // a missing or misspelt profile fails here, not at first use
      } catch (RuntimeException e) {
        throw new PanopsCryptoStartupException(
            "panops.crypto.kms.profile="
                + k.getProfile().trim()
                + " gives no credentials: "
                + e.getMessage(),
            "Name a profile of the shared config or credentials file (AWS_CONFIG_FILE,"
                + " AWS_SHARED_CREDENTIALS_FILE; a role profile needs software.amazon.awssdk:sts),"
                + " or remove the property to use the SDK's default credentials chain.",
            e);
      }
      b.credentialsProvider(profile);
    }
    if (k.getEndpoint() != null) {
      b.endpointOverride(k.getEndpoint());
    }
    try {
      return b.build();
    } catch (SdkClientException e) {
      if (k.getRegion() == null
          && String.valueOf(e.getMessage()).toLowerCase().contains("region")) {
        throw new PanopsCryptoStartupException(
            "No AWS region for the KmsClient panops-crypto builds: the SDK's region chain"
                + " (aws.region, AWS_REGION, the profile file, instance metadata) found none.",
            "Set panops.crypto.kms.region to the region of the tenants' CMKs (for example"
                + " us-east-1), or define a KmsClient bean of your own.",
            e);
      }
      throw e;
    }
  }

  /** The keys latched now, for the health indicator (and the application). */
  @Bean
  @ConditionalOnMissingBean
  public LatchedKeys panopsLatchedKeys() {
    return new LatchedKeys();
  }

  /** Cache and probe state, for the info contributor (and the application). */
  @Bean
  @ConditionalOnMissingBean
  public CryptoActivity panopsCryptoActivity(PanopsCryptoProperties properties) {
    try {
      return new CryptoActivity(
          Clock.systemUTC(),
          properties.getProbe().toSettings(),
          properties.getCache().toSettings(),
          properties.getFrameSize() == null
              ? null
              : Math.toIntExact(properties.getFrameSize().toBytes()));
    } catch (IllegalArgumentException | IllegalStateException | ArithmeticException e) {
      throw new IllegalStateException(
          "panops-crypto: invalid panops.crypto.probe.* or panops.crypto.cache.* setting: "
              + e.getMessage(),
          e);
    }
  }

  /** The library; closed (probes stopped, cached data keys retired) when the context closes. */
  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  public PanopsCrypto panopsCrypto(
      PanopsCryptoProperties properties,
      KmsClient kms,
      ObjectProvider<TenantDirectory> directories,
      ObjectProvider<AuditSink> auditSinks,
      ObjectProvider<CryptoMetrics> metrics,
      CryptoActivity activity,
      LatchedKeys latchedKeys,
      ApplicationEventPublisher events) {
    PanopsCrypto.Builder b =
        PanopsCrypto.builder()
            .kmsClient(kms)
            .tenantDirectory(tenantDirectory(properties, directories))
            .auditSink(auditSinks.getIfUnique(AuditSink::slf4j))
            .metrics(activity.recording(metrics.getIfUnique(CryptoMetrics::none)))
            .probeSettings(activity.probeSettings())
            .cacheSettings(activity.cacheSettings())
            // first the health indicator's view, then the application's listeners
            .addRevocationListener(latchedKeys)
            .addRevocationListener(events::publishEvent);
    if (properties.getFrameSize() != null) {
      try {
        b.frameSize(Math.toIntExact(properties.getFrameSize().toBytes()));
      } catch (IllegalArgumentException | ArithmeticException e) {
        throw new IllegalStateException(
            "panops-crypto: invalid panops.crypto.frame-size: " + e.getMessage(), e);
      }
    }
    if (properties.isAllowInsecureLocalKmsEndpoint()) {
      log.warn(
          "panops.crypto.allow-insecure-local-kms-endpoint=true: plain HTTP to a loopback KMS is"
              + " accepted (tests and local runs only)");
      b.allowInsecureLocalKmsEndpoint();
    }
    PanopsCrypto crypto;
    try {
      crypto = b.build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new IllegalStateException(
          "panops-crypto could not be built: " + e.getMessage() + hint(properties, kms), e);
    }
    if (properties.getKms().isVerifyKeysOnStartup()) {
      try {
        StartupKeyCheck.check(
            kms,
            keysToCheck(properties, directories),
            properties.isAllowInsecureLocalKmsEndpoint());
      } catch (RuntimeException e) {
        crypto.close();
        throw e;
      }
    }
    return crypto;
  }

  /**
   * The CMKs the start-up check describes, each with the setting that names it: every key of the
   * static directory ({@code panops.crypto.tenants}), and the keys of {@code
   * panops.crypto.s3.tenant} when a TenantDirectory bean gives them (a bean directory cannot be
   * listed).
   */
  private static Map<String, String> keysToCheck(
      PanopsCryptoProperties properties, ObjectProvider<TenantDirectory> directories) {
    Map<String, String> keys = new LinkedHashMap<>();
    properties
        .getTenants()
        .forEach(
            (id, t) -> {
              keys.putIfAbsent(t.getKeyArn(), "panops.crypto.tenants." + id + ".key-arn");
              List<String> old = t.getDecryptOnlyKeyArns();
              for (int i = 0; i < old.size(); i++) {
                keys.putIfAbsent(
                    old.get(i),
                    "panops.crypto.tenants." + id + ".decrypt-only-key-arns[" + i + "]");
              }
            });
    TenantDirectory bean = directories.getIfUnique();
    String s3Tenant = properties.getS3().isEnabled() ? properties.getS3().getTenant() : null;
    if (bean != null && s3Tenant != null && !s3Tenant.isBlank()) {
      TenantKeys tk = bean.keysOf(s3Tenant);
      if (tk != null) {
        for (String arn : tk.allKeyArns()) {
          keys.putIfAbsent(
              arn, "the TenantDirectory bean's key for panops.crypto.s3.tenant=" + s3Tenant);
        }
      }
    }
    return keys;
  }

  private static String hint(PanopsCryptoProperties properties, KmsClient kms) {
    if (properties.isAllowInsecureLocalKmsEndpoint()) {
      return "";
    }
    URI endpoint;
    try {
      endpoint = kms.serviceClientConfiguration().endpointOverride().orElse(null);
    } catch (RuntimeException e) {
      return "";
    }
    if (endpoint != null && "http".equalsIgnoreCase(endpoint.getScheme())) {
      return " (the KmsClient's endpoint is plain HTTP: set"
          + " panops.crypto.allow-insecure-local-kms-endpoint=true only for a loopback test KMS"
          + " such as LocalKms; in production use HTTPS)";
    }
    return "";
  }

  private static TenantDirectory tenantDirectory(
      PanopsCryptoProperties properties, ObjectProvider<TenantDirectory> directories) {
    TenantDirectory bean = directories.getIfUnique();
    Map<String, PanopsCryptoProperties.Tenant> configured = properties.getTenants();
    if (bean != null && !configured.isEmpty()) {
      throw new IllegalStateException(
          "panops-crypto: both a TenantDirectory bean and panops.crypto.tenants are set; use one");
    }
    if (bean != null) {
      return bean;
    }
    if (configured.isEmpty()) {
      throw new IllegalStateException(
          "panops-crypto needs a tenant directory: define a TenantDirectory bean, or set"
              + " panops.crypto.tenants.<tenant-id>.key-arn (and optionally"
              + " .decrypt-only-key-arns) for a static one");
    }
    Map<String, TenantKeys> keys = new LinkedHashMap<>();
    configured.forEach((id, t) -> keys.put(id, t.toKeys(id)));
    return TenantDirectory.of(keys);
  }

  /** Library metrics on the application's MeterRegistry, when Micrometer is present. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(MeterRegistry.class)
  static class MicrometerConfiguration {
    @Bean
    @ConditionalOnMissingBean(CryptoMetrics.class)
    CryptoMetrics panopsCryptoMicrometerMetrics(ObjectProvider<MeterRegistry> registries) {
      MeterRegistry registry = registries.getIfUnique();
      return registry == null ? CryptoMetrics.none() : MicrometerMetrics.of(registry);
    }
  }
}
