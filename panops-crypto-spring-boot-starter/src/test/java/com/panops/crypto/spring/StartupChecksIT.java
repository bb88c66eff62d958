package com.panops.crypto.spring;

import static org.assertj.core.api.Assertions.assertThat;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.testkit.LocalKms;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * Misconfiguration is caught at start-up, with a message that names the setting: each check through
 * the real SDK KmsClient against LocalKms, and each message through the failure analyzer Spring
 * Boot reports it with. A key the customer disabled is not a misconfiguration: the start goes on.
 */
class StartupChecksIT {
  static LocalKms kms;

  @BeforeAll
  static void start() {
    kms = LocalKms.start();
  }

  @AfterAll
  static void stop() {
    kms.close();
  }

  /** A client per context: the context closes its KmsClient bean. */
  static KmsClient client() {
    return KmsClient.builder()
        .endpointOverride(kms.endpoint())
        .region(Region.of(kms.region()))
        .credentialsProvider(kms.vendor().credentialsProvider())
        .overrideConfiguration(o -> o.apiCallTimeout(Duration.ofSeconds(10)))
        .build();
  }

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  PanopsCryptoAutoConfiguration.class, PanopsCryptoActuatorAutoConfiguration.class))
          .withBean(KmsClient.class, StartupChecksIT::client)
          .withPropertyValues(
              "panops.crypto.allow-insecure-local-kms-endpoint=true",
              "panops.crypto.probe.enabled=false");

  private static FailureAnalysis analysis(Throwable failure) {
    FailureAnalysis a = new PanopsCryptoFailureAnalyzer().analyze(failure);
    assertThat(a).as("the failure analyzer reports it").isNotNull();
    return a;
  }

  /** An ARN of LocalKms's account and region whose key does not exist. */
  static String unknownKey() {
    return "arn:aws:kms:"
        + kms.region()
        + ":"
        + kms.accountId()
        + ":key/00000000-0000-4000-8000-000000000000";
  }

  @Test
  void aKeyArnKmsDoesNotKnow_failsTheStart_namingTheSetting_notAsARevocation() {
    runner
        .withPropertyValues("panops.crypto.tenants.acme.key-arn=" + unknownKey())
        .run(
            ctx -> {
              assertThat(ctx).hasFailed();
              FailureAnalysis a = analysis(ctx.getStartupFailure());
              assertThat(a.getDescription())
                  .contains("panops.crypto.tenants.acme.key-arn")
                  .contains("does not know (NotFoundException)")
                  .contains("not read as a revocation");
              assertThat(a.getAction())
                  .contains("panops.crypto.kms.region")
                  .contains("panops.crypto.kms.verify-keys-on-startup=false");
            });
  }

  @Test
  void aDecryptOnlyKeyInAnotherRegion_failsTheStart_namingTheRegionToSet() {
    String current = kms.createKey("acme current");
    String elsewhere = "arn:aws:kms:eu-west-1:" + kms.accountId() + ":key/" + "1".repeat(8);
    runner
        .withPropertyValues(
            "panops.crypto.tenants.acme.key-arn=" + current,
            "panops.crypto.tenants.acme.decrypt-only-key-arns[0]=" + elsewhere)
        .run(
            ctx -> {
              FailureAnalysis a = analysis(ctx.getStartupFailure());
              assertThat(a.getDescription())
                  .contains("panops.crypto.tenants.acme.decrypt-only-key-arns[0]")
                  .contains("region eu-west-1")
                  .contains("the KmsClient is for " + kms.region());
              assertThat(a.getAction()).contains("panops.crypto.kms.region=eu-west-1");
            });
  }

  @Test
  void aKeyTheCustomerDisabled_isTheirKillSwitch_andTheStartGoesOn() {
    String disabled = kms.createKey("acme disabled");
    kms.disableKey(disabled);
    runner
        .withPropertyValues("panops.crypto.tenants.acme.key-arn=" + disabled)
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              assertThat(ctx.getBean(PanopsCrypto.class).isRevoked(disabled))
                  .as("latched on first use, not at start")
                  .isFalse();
            });
  }

  @Test
  void theCheckDescribesEachKeyOnce_andCanBeTurnedOff() {
    String good = kms.createKey("acme good");
    kms.clearTrail();
    runner
        .withPropertyValues(
            "panops.crypto.tenants.acme.key-arn=" + good,
            "panops.crypto.tenants.globex.key-arn=" + good)
        .run(ctx -> assertThat(ctx).hasNotFailed());
    assertThat(kms.trail().stream().filter(e -> e.eventName().equals("DescribeKey")).count())
        .as(kms.trail().toString())
        .isEqualTo(1);
    runner
        .withPropertyValues(
            "panops.crypto.tenants.acme.key-arn=" + unknownKey(),
            "panops.crypto.kms.verify-keys-on-startup=false")
        .run(ctx -> assertThat(ctx).hasNotFailed());
  }

  @Test
  void aRevokedStatusThatIsNoHealthStatus_failsTheStart() {
    String good = kms.createKey("acme health");
    for (String bad : new String[] {"DWON", " ", "UNKNOWN"}) {
      runner
          .withPropertyValues(
              "panops.crypto.tenants.acme.key-arn=" + good,
              "panops.crypto.health.revoked-status=" + bad)
          .run(
              ctx -> {
                FailureAnalysis a = analysis(ctx.getStartupFailure());
                assertThat(a.getDescription()).contains("panops.crypto.health.revoked-status");
                assertThat(a.getAction()).contains("management.endpoint.health.status.order");
              });
    }
    runner
        .withPropertyValues(
            "panops.crypto.tenants.acme.key-arn=" + good,
            "panops.crypto.health.revoked-status=degraded",
            "management.endpoint.health.status.order=down,degraded,out-of-service,up,unknown")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              assertThat(ctx.getBean(PanopsCryptoHealthIndicator.class).health().getStatus())
                  .as("no key latched yet")
                  .isEqualTo(org.springframework.boot.health.contributor.Status.UP);
            });
  }

  @Test
  void aDatabaseUrlThatDoesNotVerifyTheServer_isReportedInOneParagraph_withTheFix() {
    new ApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(
                DataSourceAutoConfiguration.class, PanopsCryptoJdbcAutoConfiguration.class))
        .withPropertyValues(
            "spring.datasource.url=jdbc:postgresql://localhost:1/app?sslmode=require",
            "panops.crypto.jdbc.require-verify-full=true")
        .run(
            ctx -> {
              FailureAnalysis a = analysis(ctx.getStartupFailure());
              assertThat(a.getDescription())
                  .contains("could not open a verified connection at start-up")
                  .contains("sslmode=require does not verify")
                  .doesNotContain("Error creating bean");
              assertThat(a.getAction()).contains("sslmode=verify-full");
            });
  }

  @Test
  void aRevokedStatusMustRankAboveUp_inTheOrderInForce_andInEveryGroupsOrder() {
    String good = kms.createKey("acme order");
    String[][] refused = {
      {"DOWN", "management.endpoint.health.status.order=FATAL,UP"},
      {"OUT_OF_SERVICE", "management.endpoint.health.status.order=fatal,down,up"},
      {"DOWN", "management.endpoint.health.group.live.status.order=up,down"},
    };
    for (String[] r : refused) {
      runner
          .withPropertyValues(
              "panops.crypto.tenants.acme.key-arn=" + good,
              "panops.crypto.health.revoked-status=" + r[0],
              r[1])
          .run(
              ctx ->
                  assertThat(analysis(ctx.getStartupFailure()).getDescription())
                      .as(String.join(" with ", r))
                      .contains("does not rank above UP"));
    }
    runner
        .withPropertyValues(
            "panops.crypto.tenants.acme.key-arn=" + good,
            "panops.crypto.health.revoked-status=out-of-service")
        .run(
            ctx -> {
              assertThat(ctx).hasNotFailed();
              PanopsCryptoHealthIndicator h = ctx.getBean(PanopsCryptoHealthIndicator.class);
              assertThat(h).isNotNull();
            });
    assertThat(
            PanopsCryptoActuatorAutoConfiguration.Health.revokedStatus(
                "out-of-service", new org.springframework.mock.env.MockEnvironment()))
        .isEqualTo("OUT_OF_SERVICE");
  }

  @Test
  void aMisspeltPanopsSetting_failsTheStart() {
    String good = kms.createKey("acme typo");
    runner
        .withPropertyValues(
            "panops.crypto.tenants.acme.key-arn=" + good,
            "panops.crypto.jdbc.require-verify-ful=true")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("panops.crypto")
                    .hasStackTraceContaining("require-verify-ful"));
  }

  /**
   * A KMS that accepts connections and never answers: the check gives up on the first key within
   * its bounds and describes no other (one warning), and the start goes on.
   */
  @Test
  void aKmsThatNeverAnswers_stopsTheCheckAtTheFirstKey_andTheStartGoesOn() throws Exception {
    java.util.List<String> bodies = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (java.net.ServerSocket stall =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      Thread acceptor =
          new Thread(
              () -> {
                java.util.List<java.net.Socket> open = new java.util.ArrayList<>();
                try {
                  while (true) {
                    java.net.Socket c = stall.accept();
                    open.add(c); // never answered, never closed by us
                    bodies.add(readRequest(c));
                  }
                } catch (java.io.IOException closed) {
                  open.forEach(
                      c -> {
                        try {
                          c.close();
                        } catch (java.io.IOException ignored) {
                          // closing
                        }
                      });
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      String[] keys = {
        "arn:aws:kms:" + kms.region() + ":" + kms.accountId() + ":key/" + "1".repeat(8),
        "arn:aws:kms:" + kms.region() + ":" + kms.accountId() + ":key/" + "2".repeat(8),
        "arn:aws:kms:" + kms.region() + ":" + kms.accountId() + ":key/" + "3".repeat(8)
      };
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(PanopsCryptoAutoConfiguration.class))
          .withBean(
              KmsClient.class,
              () ->
                  KmsClient.builder()
                      .endpointOverride(
                          java.net.URI.create("http://127.0.0.1:" + stall.getLocalPort()))
                      .region(Region.of(kms.region()))
                      .credentialsProvider(kms.vendor().credentialsProvider())
                      .build())
          .withPropertyValues(
              "panops.crypto.allow-insecure-local-kms-endpoint=true",
              "panops.crypto.probe.enabled=false",
              "panops.crypto.tenants.a.key-arn=" + keys[0],
              "panops.crypto.tenants.b.key-arn=" + keys[1],
              "panops.crypto.tenants.c.key-arn=" + keys[2])
          .run(ctx -> assertThat(ctx).hasNotFailed());
    }
    assertThat(bodies).isNotEmpty();
    assertThat(bodies).allMatch(b -> b.contains("1".repeat(8)), "only the first key was asked");
  }

  /**
   * The body of one HTTP request on {@code c} (headers up to the blank line, then Content-Length).
   */
  private static String readRequest(java.net.Socket c) throws java.io.IOException {
    java.io.InputStream in = c.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        return head.toString();
      }
      head.append((char) b);
    }
    int length = 0;
    for (String line : head.toString().split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    return new String(in.readNBytes(length), java.nio.charset.StandardCharsets.UTF_8);
  }
}
