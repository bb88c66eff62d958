package com.panops.crypto.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.panops.crypto.spring.sample.SampleWorkerApplication;
import com.panops.crypto.testkit.LocalKms;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The sample application, started with one setting wrong at a time against the real servers: the
 * start fails with a message that names the problem, and nothing is left running.
 */
class SampleMisconfigurationIT {

  private static List<String> sampleArgs() {
    TestServers s = TestServers.get();
    LocalKms kms = s.kms;
    String key = kms.createKey("spring-misconfig-" + System.nanoTime());
    List<String> args = new ArrayList<>();
    args.add("--sample.acme-key-arn=" + key);
    args.add("--sample.kms.endpoint=" + kms.endpoint());
    args.add("--sample.kms.region=" + kms.region());
    args.add("--sample.kms.access-key-id=" + kms.vendor().accessKeyId());
    args.add("--sample.kms.secret-access-key=" + kms.vendor().secretAccessKey());
    args.add("--sample.s3.endpoint=" + s.s3mock.endpoint());
    args.add("--sample.s3.region=" + s.s3mock.region());
    args.add("--sample.db.url=" + s.postgres.jdbcUrl("postgres"));
    args.add("--sample.db.user=" + s.postgres.user());
    return args;
  }

  private static Throwable startFails(String... overrides) {
    // one value per name: Spring joins repeated command-line options with commas
    Map<String, String> byName = new LinkedHashMap<>();
    for (String a : sampleArgs()) {
      byName.put(a.substring(0, a.indexOf('=')), a);
    }
    for (String a : overrides) {
      byName.put(a.substring(0, a.indexOf('=')), a);
    }
    List<String> args = new ArrayList<>(byName.values());
    SpringApplication app = new SpringApplication(SampleWorkerApplication.class);
    app.setWebApplicationType(WebApplicationType.NONE);
    return assertThrows(
        Throwable.class,
        () -> {
          try (ConfigurableApplicationContext ctx = app.run(args.toArray(String[]::new))) {
            // started: the assertion below fails
          }
        });
  }

  @Test
  void theSampleStartsAsConfigured() {
    SpringApplication app = new SpringApplication(SampleWorkerApplication.class);
    app.setWebApplicationType(WebApplicationType.NONE);
    try (ConfigurableApplicationContext ctx = app.run(sampleArgs().toArray(String[]::new))) {
      assertThat(ctx.isActive()).isTrue();
    }
  }

  @Test
  void theLocalKmsWithoutTheOptIn_failsTheStart() {
    assertThat(startFails("--panops.crypto.allow-insecure-local-kms-endpoint=false"))
        .hasStackTraceContaining("is not HTTPS")
        .hasStackTraceContaining("panops.crypto.allow-insecure-local-kms-endpoint=true");
  }

  @Test
  void theS3MockWithoutTheOptIn_failsTheStart() {
    assertThat(startFails("--panops.crypto.s3.allow-insecure-local-s3-endpoint=false"))
        .hasStackTraceContaining("panops.crypto.s3.allow-insecure-local-s3-endpoint=true");
  }

  @Test
  void aDatabaseUrlThatDoesNotVerifyTheServer_failsTheStart() {
    String weak = TestServers.get().postgres.jdbcUrlWithoutTls("postgres") + "?sslmode=require";
    assertThat(startFails("--sample.db.url=" + weak))
        .hasStackTraceContaining("could not open a verified connection at start-up")
        .hasStackTraceContaining("sslmode=require does not verify");
  }

  @Test
  void aTenantWithoutAKey_failsTheStart() {
    assertThat(startFails("--sample.acme-key-arn="))
        .hasStackTraceContaining("panops.crypto.tenants.acme.key-arn must be set");
  }
}
