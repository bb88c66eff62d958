package com.panops.crypto.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.AuditSink;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.FakeKmsClient;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationListener;
import org.springframework.context.PayloadApplicationEvent;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The core auto-configuration in real application contexts, without servers: a KmsClient that is
 * never called (building the library calls no KMS) or the in-process {@link FakeKmsClient}.
 */
class PanopsCryptoAutoConfigurationTest {
  static final String ARN = "arn:aws:kms:us-east-1:111122223333:key/test-acme";

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  PanopsCryptoAutoConfiguration.class,
                  PanopsCryptoActuatorAutoConfiguration.class));

  /** A real SDK client with static credentials and a region; nothing here sends a request. */
  static KmsClient kmsClient(String endpoint) {
    return KmsClient.builder()
        .endpointOverride(URI.create(endpoint))
        .region(Region.US_EAST_1)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create("test-id", "test-secret")))
        .build();
  }

  @Configuration(proxyBeanMethods = false)
  static class HttpsKms {
    @Bean
    KmsClient kmsClient() {
      return PanopsCryptoAutoConfigurationTest.kmsClient("https://127.0.0.1:1");
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class HttpKms {
    @Bean
    KmsClient kmsClient() {
      return PanopsCryptoAutoConfigurationTest.kmsClient("http://127.0.0.1:1");
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class Directory {
    @Bean
    TenantDirectory tenantDirectory() {
      return TenantDirectory.of(Map.of("acme", TenantKeys.of(ARN)));
    }
  }

  /** The in-process fake KMS, one key for tenant acme, audit events and Spring events captured. */
  @Configuration(proxyBeanMethods = false)
  static class FakeKms {
    static final FakeKmsClient FAKE = new FakeKmsClient();

    @Bean
    FakeKmsClient kmsClient() {
      return FAKE;
    }

    @Bean
    TenantDirectory tenantDirectory(FakeKmsClient kms) {
      return TenantDirectory.of(
          Map.of("acme", TenantKeys.of(kms.createKey("acme-fake-" + System.nanoTime()))));
    }

    @Bean
    List<AuditEvent> audited() {
      return new CopyOnWriteArrayList<>();
    }

    @Bean
    AuditSink auditSink(List<AuditEvent> audited) {
      return audited::add;
    }

    @Bean
    List<RevocationEvent> springEvents() {
      return new CopyOnWriteArrayList<>();
    }

    @Bean
    ApplicationListener<PayloadApplicationEvent<RevocationEvent>> revocationListener(
        List<RevocationEvent> springEvents) {
      return e -> springEvents.add(e.getPayload());
    }

    @Bean
    MeterRegistry meterRegistry() {
      return new SimpleMeterRegistry();
    }
  }

  private static Throwable rootCause(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null) {
      c = c.getCause();
    }
    return c;
  }

  @Test
  void noTenantDirectory_failsTheStartWithAClearMessage() {
    runner
        .withUserConfiguration(HttpsKms.class)
        .run(
            ctx -> {
              assertThat(ctx).hasFailed();
              assertThat(rootCause(ctx.getStartupFailure()))
                  .hasMessageContaining("panops-crypto needs a tenant directory")
                  .hasMessageContaining("panops.crypto.tenants.<tenant-id>.key-arn");
            });
  }

  @Test
  void httpKmsEndpointWithoutTheOptIn_failsTheStartNamingTheProperty() {
    runner
        .withUserConfiguration(HttpKms.class, Directory.class)
        .run(
            ctx -> {
              assertThat(ctx).hasFailed();
              assertThat(ctx.getStartupFailure()).rootCause().hasMessageContaining("is not HTTPS");
              assertThat(ctx.getStartupFailure())
                  .hasStackTraceContaining("panops.crypto.allow-insecure-local-kms-endpoint=true");
            });
  }

  @Test
  void httpKmsEndpointWithTheOptIn_startsOnLoopback() {
    runner
        .withUserConfiguration(HttpKms.class, Directory.class)
        .withPropertyValues("panops.crypto.allow-insecure-local-kms-endpoint=true")
        .run(ctx -> assertThat(ctx).hasNotFailed().hasSingleBean(PanopsCrypto.class));
  }

  @Test
  void theApplicationsTenantDirectory_isTheOneUsed() {
    runner
        .withUserConfiguration(HttpsKms.class, Directory.class)
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              PanopsCrypto crypto = ctx.getBean(PanopsCrypto.class);
              assertEquals(ARN, crypto.tenant("acme").keys().currentKeyArn());
              assertThrows(IllegalArgumentException.class, () -> crypto.tenant("globex"));
            });
  }

  @Test
  void httpKmsEndpointOffLoopback_isRefusedEvenWithTheOptIn() {
    runner
        .withUserConfiguration(Directory.class)
        .withBean(KmsClient.class, () -> kmsClient("http://10.0.0.1:1"))
        .withPropertyValues("panops.crypto.allow-insecure-local-kms-endpoint=true")
        .run(
            ctx -> {
              assertThat(ctx).hasFailed();
              assertThat(ctx.getStartupFailure())
                  .rootCause()
                  .hasMessageContaining("not a loopback");
            });
  }

  @Test
  void tenantsFromProperties_makeAStaticDirectory() {
    runner
        .withUserConfiguration(HttpsKms.class)
        .withPropertyValues(
            "panops.crypto.tenants.acme.key-arn=" + ARN,
            "panops.crypto.tenants.acme.decrypt-only-key-arns[0]=" + ARN + "-old")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              TenantCrypto acme = ctx.getBean(PanopsCrypto.class).tenant("acme");
              assertThat(acme).isNotNull();
              assertThrows(
                  IllegalArgumentException.class,
                  () -> ctx.getBean(PanopsCrypto.class).tenant("globex"));
            });
  }

  @Test
  void tenantPropertyWithoutKeyArn_failsTheStart() {
    runner
        .withUserConfiguration(HttpsKms.class)
        .withPropertyValues("panops.crypto.tenants.acme.decrypt-only-key-arns[0]=" + ARN)
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .rootCause()
                    .hasMessageContaining("panops.crypto.tenants.acme.key-arn must be set"));
  }

  @Test
  void aDirectoryBeanAndTenantProperties_conflict() {
    runner
        .withUserConfiguration(HttpsKms.class, Directory.class)
        .withPropertyValues("panops.crypto.tenants.acme.key-arn=" + ARN)
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .rootCause()
                    .hasMessageContaining("both a TenantDirectory bean and panops.crypto.tenants"));
  }

  @Test
  void probeCacheAndFrameProperties_reachTheLibrary() {
    runner
        .withUserConfiguration(HttpsKms.class, Directory.class)
        .withPropertyValues(
            "panops.crypto.probe.interval=750ms",
            "panops.crypto.probe.timeout=2s",
            "panops.crypto.probe.settle-probes=2",
            "panops.crypto.probe.settle-time=1s",
            "panops.crypto.cache.encrypt-max-age=2m",
            "panops.crypto.cache.encrypt-max-messages=1000",
            "panops.crypto.cache.decrypt-max-entries=55",
            "panops.crypto.frame-size=16KB")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              String described = ctx.getBean(PanopsCrypto.class).toString();
              assertThat(described)
                  .contains("every PT0.75S")
                  .contains("settle 2 probes over PT1S")
                  .contains("frameSize=16384");
              CryptoActivity a = ctx.getBean(CryptoActivity.class);
              assertEquals(Duration.ofSeconds(2), a.probeSettings().timeout());
              assertEquals(Duration.ofMinutes(2), a.cacheSettings().encryptMaxAge());
              assertEquals(1000, a.cacheSettings().encryptMaxMessages());
              assertEquals(55, a.cacheSettings().decryptMaxEntries());
            });
  }

  @Test
  void anOutOfRangeProbeInterval_failsTheStartWithTheLibrarysMessage() {
    runner
        .withUserConfiguration(HttpsKms.class, Directory.class)
        .withPropertyValues("panops.crypto.probe.interval=10ms")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .rootCause()
                    .hasMessageContaining("probe interval must be 50 ms .. 5 minutes"));
  }

  @Test
  void anOutOfRangeFrameSize_failsTheStart() {
    runner
        .withUserConfiguration(HttpsKms.class, Directory.class)
        .withPropertyValues("panops.crypto.frame-size=1KB")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("invalid panops.crypto.frame-size"));
  }

  /** The test JVM has no region anywhere (see the surefire configuration in this module's pom). */
  @Test
  void withoutARegionAnywhere_theStartFails_namingPanopsCryptoKmsRegion() {
    runner
        .withUserConfiguration(Directory.class)
        .withPropertyValues("panops.crypto.kms.endpoint=https://127.0.0.1:1")
        .run(
            ctx -> {
              assertThat(ctx).hasFailed();
              org.springframework.boot.diagnostics.FailureAnalysis a =
                  new PanopsCryptoFailureAnalyzer().analyze(ctx.getStartupFailure());
              assertThat(a).isNotNull();
              assertThat(a.getDescription()).contains("No AWS region");
              assertThat(a.getAction()).contains("panops.crypto.kms.region");
            });
    runner
        .withUserConfiguration(Directory.class)
        .withPropertyValues("panops.crypto.kms.region= ")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("panops.crypto.kms.region is blank"));
  }

  /**
   * The test JVM's shared credentials file is this module's target/no-aws-credentials (the surefire
   * configuration): written here with one profile of static test keys.
   */
  @Test
  void aCredentialsProfile_isTheBuiltClientsCredentials_andAMissingOneFailsTheStart()
      throws Exception {
    java.nio.file.Path file =
        java.nio.file.Path.of(System.getProperty("aws.sharedCredentialsFile"));
    java.nio.file.Files.createDirectories(file.getParent());
    java.nio.file.Files.writeString(
        file,
        "[vendor-role]\naws_access_key_id = AKIDTESTONLY\naws_secret_access_key = not-a-secret\n");
    runner
        .withUserConfiguration(Directory.class)
        .withPropertyValues(
            "panops.crypto.kms.region=eu-west-1",
            "panops.crypto.kms.endpoint=https://127.0.0.1:1",
            "panops.crypto.kms.profile=vendor-rol")
        .run(
            ctx -> {
              org.springframework.boot.diagnostics.FailureAnalysis a =
                  new PanopsCryptoFailureAnalyzer().analyze(ctx.getStartupFailure());
              assertThat(a).isNotNull();
              assertThat(a.getDescription())
                  .contains("panops.crypto.kms.profile=vendor-rol gives no credentials");
              assertThat(a.getDescription()).doesNotContain("not-a-secret");
            });
    runner
        .withUserConfiguration(Directory.class)
        .withPropertyValues(
            "panops.crypto.kms.region=eu-west-1",
            "panops.crypto.kms.endpoint=https://127.0.0.1:1",
            "panops.crypto.kms.profile=vendor-role")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              KmsClient kms = ctx.getBean(KmsClient.class);
              assertThat(kms.serviceClientConfiguration().credentialsProvider())
                  .isInstanceOf(
                      software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider.class);
              assertThat(kms.serviceClientConfiguration().credentialsProvider().toString())
                  .contains("vendor-role");
            });
  }

  @Test
  void withoutAKmsClientBean_oneIsBuiltFromTheDefaultChainWithTheConfiguredRegionAndEndpoint() {
    runner
        .withUserConfiguration(Directory.class)
        .withPropertyValues(
            "panops.crypto.kms.region=eu-west-1", "panops.crypto.kms.endpoint=https://127.0.0.1:1")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed().hasSingleBean(KmsClient.class);
              KmsClient kms = ctx.getBean(KmsClient.class);
              assertEquals(Region.EU_WEST_1, kms.serviceClientConfiguration().region());
              assertEquals(
                  URI.create("https://127.0.0.1:1"),
                  kms.serviceClientConfiguration().endpointOverride().orElseThrow());
            });
  }

  @Test
  void theApplicationsKmsClient_isTheOneUsed() {
    runner
        .withUserConfiguration(FakeKms.class)
        .withPropertyValues("panops.crypto.allow-insecure-local-kms-endpoint=true")
        .run(
            ctx -> {
              assertThat(ctx).hasSingleBean(KmsClient.class);
              byte[] ct =
                  ctx.getBean(PanopsCrypto.class)
                      .tenant("acme")
                      .encrypt(
                          "x".getBytes(StandardCharsets.UTF_8), KeyContext.of("c", "1"), aad());
              assertThat(ct).isNotEmpty();
              assertThat(FakeKms.FAKE.generateDataKeyCalls.get()).isPositive();
            });
  }

  private static MessageAad aad() {
    return MessageAad.of("row", "1");
  }

  @Test
  void auditMetricsRevocationEventsAndHealth_areWiredToTheApplication() {
    runner
        .withUserConfiguration(FakeKms.class)
        .withPropertyValues(
            "panops.crypto.allow-insecure-local-kms-endpoint=true",
            "panops.crypto.probe.interval=100ms",
            "panops.crypto.probe.settle-probes=1",
            "panops.crypto.probe.settle-time=100ms")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              PanopsCrypto crypto = ctx.getBean(PanopsCrypto.class);
              TenantCrypto acme = crypto.tenant("acme");
              byte[] plain = "hello".getBytes(StandardCharsets.UTF_8);
              byte[] ct = acme.encrypt(plain, KeyContext.of("c", "1"), aad());
              assertArrayEquals(plain, acme.decrypt(ct, KeyContext.of("c", "1"), aad()));

              @SuppressWarnings("unchecked")
              List<AuditEvent> audited = ctx.getBean("audited", List.class);
              assertThat(audited).isNotEmpty();
              MeterRegistry registry = ctx.getBean(MeterRegistry.class);
              assertThat(registry.find("panops.crypto.kms.calls").meters()).isNotEmpty();

              String arn = acme.keys().currentKeyArn();
              FakeKms.FAKE.disable(arn);
              // the request path observes it at the next KMS call: a fresh key context misses
              assertThrows(
                  KeyRevokedException.class,
                  () -> acme.encrypt(plain, KeyContext.of("c", "2"), aad()));
              @SuppressWarnings("unchecked")
              List<RevocationEvent> events = ctx.getBean("springEvents", List.class);
              assertThat(events)
                  .anySatisfy(
                      e -> {
                        assertEquals(arn, e.keyArn());
                        assertEquals(RevocationEvent.Kind.REVOKED, e.kind());
                        assertEquals(RevocationReason.DISABLED, e.reason());
                      });
              assertThat(ctx.getBean(LatchedKeys.class).snapshot())
                  .extracting(LatchedKeys.Latched::keyArn)
                  .containsExactly(arn);
              Health health = ctx.getBean(PanopsCryptoHealthIndicator.class).health();
              assertEquals(Status.UP, health.getStatus()); // the documented choice
              assertEquals(1, health.getDetails().get("latchedKeyCount"));
              assertThat(health.getDetails().get("latchedKeys").toString())
                  .contains(arn)
                  .contains("DISABLED");
              Info.Builder ib = new Info.Builder();
              ctx.getBean(PanopsCryptoInfoContributor.class).contribute(ib);
              @SuppressWarnings("unchecked")
              Map<String, Object> info =
                  (Map<String, Object>) ib.build().getDetails().get("panopsCrypto");
              assertEquals(1, info.get("latchedKeyCount"));
              @SuppressWarnings("unchecked")
              Map<String, Object> cache = (Map<String, Object>) info.get("cache");
              assertThat((Long) cache.get("encryptMisses")).isGreaterThanOrEqualTo(1L);
              @SuppressWarnings("unchecked")
              Map<String, Object> kms = (Map<String, Object>) info.get("kms");
              assertThat((Long) kms.get("failures")).isGreaterThanOrEqualTo(1L);
              FakeKms.FAKE.enable(arn);
            });
  }

  @Test
  void aConfiguredRevokedStatus_isReportedWhileAKeyIsLatched() {
    runner
        .withUserConfiguration(HttpsKms.class, Directory.class)
        .withPropertyValues("panops.crypto.health.revoked-status=down")
        .run(
            ctx -> {
              PanopsCryptoHealthIndicator indicator =
                  ctx.getBean(PanopsCryptoHealthIndicator.class);
              assertEquals(Status.UP, indicator.health().getStatus());
              ctx.getBean(LatchedKeys.class)
                  .onEvent(
                      new RevocationEvent(
                          ARN,
                          RevocationEvent.Kind.REVOKED,
                          RevocationReason.ACCESS_DENIED,
                          java.time.Instant.now(),
                          "AccessDeniedException"));
              assertEquals(Status.DOWN, indicator.health().getStatus());
              ctx.getBean(LatchedKeys.class)
                  .onEvent(
                      new RevocationEvent(
                          ARN, RevocationEvent.Kind.RESTORED, null, java.time.Instant.now(), null));
              assertEquals(Status.UP, indicator.health().getStatus());
            });
  }

  @Test
  void closingTheContext_closesTheLibrary() {
    AtomicReference<PanopsCrypto> crypto = new AtomicReference<>();
    runner
        .withUserConfiguration(HttpsKms.class, Directory.class)
        .run(ctx -> crypto.set(ctx.getBean(PanopsCrypto.class)));
    assertThrows(IllegalStateException.class, () -> crypto.get().tenant("acme"));
  }
}
