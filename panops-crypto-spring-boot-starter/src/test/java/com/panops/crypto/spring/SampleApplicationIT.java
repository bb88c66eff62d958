package com.panops.crypto.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.s3.EncryptingS3Client;
import com.panops.crypto.spring.sample.SampleWorkerApplication;
import com.zaxxer.hikari.HikariDataSource;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.actuate.info.InfoEndpoint;
import org.springframework.boot.health.actuate.endpoint.HealthDescriptor;
import org.springframework.boot.health.actuate.endpoint.HealthEndpoint;
import org.springframework.boot.health.actuate.endpoint.IndicatedHealthDescriptor;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The README's sample application, started as a real Spring Boot application against LocalKms,
 * S3Mock and PostgreSQL with TLS (verify-full): data goes through the wired beans, health reports
 * the kill switch, and a disabled key shows in the health details within one probe interval plus
 * 500 ms.
 */
@SpringBootTest(classes = SampleWorkerApplication.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SampleApplicationIT {
  static final Duration PROBE_INTERVAL = Duration.ofMillis(300); // as in application.yml
  static String acmeKey;

  @DynamicPropertySource
  static void servers(DynamicPropertyRegistry registry) {
    acmeKey = TestServers.get().registerSampleProperties(registry);
  }

  @Autowired PanopsCrypto crypto;
  @Autowired S3Client s3;

  @Autowired
  @Qualifier("plainS3Client")
  S3Client plainS3;

  @Autowired DataSource dataSource;
  @Autowired SampleWorkerApplication.MailStore store;
  @Autowired SampleWorkerApplication.Revocations revocations;
  @Autowired HealthEndpoint healthEndpoint;
  @Autowired InfoEndpoint infoEndpoint;

  @Test
  @Order(1)
  void encryptsAndDecryptsThroughTheWiredBeans() throws Exception {
    TenantCrypto acme = crypto.tenant("acme");
    assertEquals(acmeKey, acme.keys().currentKeyArn());
    byte[] body = "quarterly numbers".getBytes(StandardCharsets.UTF_8);
    byte[] ct = acme.encrypt(body, KeyContext.of("class", "mail"), MessageAad.of("row", "1"));
    assertArrayEquals(
        body, acme.decrypt(ct, KeyContext.of("class", "mail"), MessageAad.of("row", "1")));

    assertInstanceOf(EncryptingS3Client.class, s3);
    assertThat(plainS3).isNotInstanceOf(EncryptingS3Client.class);
    assertInstanceOf(HikariDataSource.class, dataSource);
    assertInstanceOf(TlsEnforcingDataSource.class, ((HikariDataSource) dataSource).getDataSource());

    byte[] attachment = new byte[100_000];
    for (int i = 0; i < attachment.length; i++) {
      attachment[i] = (byte) (i * 31);
    }
    store.store("m1", "Hello from the sample", attachment);
    assertEquals("Hello from the sample", store.subject("m1"));
    assertArrayEquals(attachment, store.attachment("m1"));

    // at rest: S3 holds ciphertext, the column holds no plaintext
    byte[] stored = plainS3.getObjectAsBytes(r -> r.bucket("mail").key("acme/m1")).asByteArray();
    assertThat(stored).isNotEqualTo(attachment);
    assertTrue(stored.length > attachment.length);
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()),"
                    + " position(convert_to('Hello', 'UTF8') in subject) FROM messages"
                    + " WHERE id = 'm1'")) {
      assertTrue(rs.next());
      assertTrue(rs.getBoolean(1), "the pooled session is TLS");
      assertEquals(0, rs.getInt(2), "the subject is not stored in plaintext");
    }

    assertEquals(Status.UP, healthEndpoint.health().getStatus());
    IndicatedHealthDescriptor h = cryptoHealth();
    assertEquals(Status.UP, h.getStatus());
    assertEquals(0, h.getDetails().get("latchedKeyCount"));
    @SuppressWarnings("unchecked")
    Map<String, Object> info = (Map<String, Object>) infoEndpoint.info().get("panopsCrypto");
    assertNotNull(info, "info contributor");
    assertThat(info.toString()).contains("interval=PT0.3S").contains("encryptMisses=");
  }

  @Test
  @Order(2)
  void aDisabledKeyShowsUpInHealthWithinOneProbeIntervalPlus500ms() throws Exception {
    TenantCrypto acme = crypto.tenant("acme");
    // the key is in use (warm cache), so it is probed
    acme.encrypt(new byte[10], KeyContext.of("class", "mail"), MessageAad.of("row", "2"));
    assertEquals(0, cryptoHealth().getDetails().get("latchedKeyCount"));

    TestServers.get().kms.disableKey(acmeKey);
    long deadline = System.nanoTime() + PROBE_INTERVAL.plusMillis(500).toNanos();
    IndicatedHealthDescriptor seen = cryptoHealth();
    while (!latched(seen) && System.nanoTime() < deadline) {
      Thread.sleep(10);
      seen = cryptoHealth();
    }
    assertTrue(latched(seen), "not in health within one probe interval + 500 ms: " + seen);
    assertEquals(Status.UP, seen.getStatus(), "one tenant's revoked key is not an outage");
    assertEquals(Status.UP, healthEndpoint.health().getStatus());
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> keys =
        (List<Map<String, Object>>) seen.getDetails().get("latchedKeys");
    assertEquals(acmeKey, keys.get(0).get("keyArn"));
    assertEquals("DISABLED", keys.get(0).get("reason"));
    assertNotNull(keys.get(0).get("since"));
    assertThat(revocations.seen())
        .anySatisfy(
            e -> {
              assertEquals(acmeKey, e.keyArn());
              assertEquals(RevocationEvent.Kind.REVOKED, e.kind());
              assertEquals(RevocationReason.DISABLED, e.reason());
            });

    TestServers.get().kms.enableKey(acmeKey);
    // restore takes the settle time (300 ms) plus an interval; bounded, generously
    long restoreDeadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (latched(cryptoHealth()) && System.nanoTime() < restoreDeadline) {
      Thread.sleep(20);
    }
    assertEquals(0, cryptoHealth().getDetails().get("latchedKeyCount"));
    assertThat(revocations.seen())
        .anySatisfy(e -> assertEquals(RevocationEvent.Kind.RESTORED, e.kind()));
  }

  /** The indicator's health as the Actuator endpoint reports it (show-details: always). */
  private IndicatedHealthDescriptor cryptoHealth() {
    HealthDescriptor d = healthEndpoint.healthForPath("panopsCrypto");
    assertNotNull(d, "no panopsCrypto health component");
    return assertInstanceOf(IndicatedHealthDescriptor.class, d);
  }

  private static boolean latched(IndicatedHealthDescriptor h) {
    Object keys = h.getDetails().get("latchedKeys");
    return keys != null && keys.toString().contains(acmeKey);
  }
}
