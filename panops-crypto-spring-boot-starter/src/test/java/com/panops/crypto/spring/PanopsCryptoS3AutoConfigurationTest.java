package com.panops.crypto.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.panops.crypto.s3.EncryptingS3Client;
import java.net.URI;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** Wrapping of the application's S3Client, in real contexts; no request is sent. */
class PanopsCryptoS3AutoConfigurationTest {
  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  PanopsCryptoAutoConfiguration.class, PanopsCryptoS3AutoConfiguration.class))
          .withUserConfiguration(
              PanopsCryptoAutoConfigurationTest.HttpsKms.class,
              PanopsCryptoAutoConfigurationTest.Directory.class);

  static S3Client s3(String endpoint) {
    return S3Client.builder()
        .endpointOverride(URI.create(endpoint))
        .forcePathStyle(true)
        .region(Region.US_EAST_1)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create("test-id", "test-secret")))
        .build();
  }

  @Configuration(proxyBeanMethods = false)
  static class AppS3 {
    @Bean
    S3Client appS3() {
      return s3("https://127.0.0.1:1");
    }
  }

  @Configuration(proxyBeanMethods = false)
  static class LocalHttpS3 {
    @Bean
    S3Client appS3() {
      return s3("http://127.0.0.1:1");
    }
  }

  @Test
  void disabled_leavesTheApplicationsClientAlone() {
    runner
        .withUserConfiguration(AppS3.class)
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed().hasSingleBean(S3Client.class);
              assertThat(ctx.getBean(S3Client.class)).isNotInstanceOf(EncryptingS3Client.class);
            });
  }

  @Test
  void enabled_makesTheEncryptingClientPrimaryAndKeepsThePlainOneByQualifier() {
    runner
        .withUserConfiguration(AppS3.class)
        .withPropertyValues("panops.crypto.s3.enabled=true", "panops.crypto.s3.tenant=acme")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              assertThat(ctx.getBean(S3Client.class)).isInstanceOf(EncryptingS3Client.class);
              Object plain = ctx.getBean(PanopsCryptoS3AutoConfiguration.PLAIN_S3_CLIENT);
              assertThat(plain)
                  .isSameAs(ctx.getBean("appS3"))
                  .isNotInstanceOf(EncryptingS3Client.class);
            });
  }

  @Test
  void enabledWithoutATenant_failsTheStart() {
    runner
        .withUserConfiguration(AppS3.class)
        .withPropertyValues("panops.crypto.s3.enabled=true")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .rootCause()
                    .hasMessageContaining("needs panops.crypto.s3.tenant"));
  }

  @Test
  void enabledWithAnUnknownTenant_failsTheStart() {
    runner
        .withUserConfiguration(AppS3.class)
        .withPropertyValues("panops.crypto.s3.enabled=true", "panops.crypto.s3.tenant=globex")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .rootCause()
                    .hasMessageContaining("unknown tenant: globex"));
  }

  @Test
  void enabledWithoutAnS3Client_failsTheStart() {
    runner
        .withPropertyValues("panops.crypto.s3.enabled=true", "panops.crypto.s3.tenant=acme")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("no S3Client bean to wrap"));
  }

  @Test
  void aPlainHttpS3EndpointWithoutTheOptIn_failsTheStart() {
    runner
        .withUserConfiguration(LocalHttpS3.class)
        .withPropertyValues("panops.crypto.s3.enabled=true", "panops.crypto.s3.tenant=acme")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining(
                        "panops.crypto.s3.allow-insecure-local-s3-endpoint=true"));
  }

  @Test
  void twoS3Clients_needTheBeanName() {
    runner
        .withUserConfiguration(AppS3.class)
        .withBean("otherS3", S3Client.class, () -> s3("https://127.0.0.1:2"))
        .withPropertyValues("panops.crypto.s3.enabled=true", "panops.crypto.s3.tenant=acme")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("set panops.crypto.s3.client-bean-name"));
    runner
        .withUserConfiguration(AppS3.class)
        .withBean("otherS3", S3Client.class, () -> s3("https://127.0.0.1:2"))
        .withPropertyValues(
            "panops.crypto.s3.enabled=true",
            "panops.crypto.s3.tenant=acme",
            "panops.crypto.s3.client-bean-name=otherS3")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              assertThat(ctx.getBean(PanopsCryptoS3AutoConfiguration.PLAIN_S3_CLIENT))
                  .isSameAs(ctx.getBean("otherS3"));
            });
  }
}
