package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.panops.crypto.AuditSink;
import com.panops.crypto.KeyContext;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/** Configuration of a column, offline: no KMS call is made by anything here. */
class EncryptedColumnTest {
  private static final String ARN =
      "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000001";
  private static KmsClient kms;
  private static PanopsCrypto crypto;

  @BeforeAll
  static void setUp() {
    kms =
        KmsClient.builder()
            .endpointOverride(URI.create("http://127.0.0.1:9"))
            .region(Region.US_EAST_1)
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create("AKIDTEST", "secret")))
            .build();
    crypto = acmeAndGlobexSharing(kms, ARN);
  }

  /** Tenants acme and globex under the one CMK, without probes or audit. */
  private static PanopsCrypto acmeAndGlobexSharing(KmsClient kms, String cmk) {
    return PanopsCrypto.builder()
        .kmsClient(kms)
        .allowInsecureLocalKmsEndpoint()
        .tenantDirectory(
            TenantDirectory.of(Map.of("acme", TenantKeys.of(cmk), "globex", TenantKeys.of(cmk))))
        .probeSettings(ProbeSettings.off())
        .auditSink(AuditSink.none())
        .build();
  }

  @AfterAll
  static void tearDown() {
    crypto.close();
    kms.close();
  }

  @Test
  void defaultKeyContext_isTheTable_andACustomOneReplacesIt() {
    EncryptedColumn c =
        EncryptedColumn.builder(crypto.tenant("acme")).table("mail").column("subject").build();
    assertEquals(Map.of("table", "mail"), c.keyContext().asMap());
    EncryptedColumn custom =
        EncryptedColumn.builder(crypto.tenant("acme"))
            .table("mail")
            .column("body")
            .keyContext(KeyContext.of("class", "mail"))
            .build();
    assertEquals(Map.of("class", "mail"), custom.keyContext().asMap());
  }

  @Test
  void aValueOfOneTenant_readAsAnothers_isAnIntegrityError_beforeAnyKmsCall() throws Exception {
    com.panops.crypto.testkit.FakeKmsClient fake = new com.panops.crypto.testkit.FakeKmsClient();
    String shared = fake.createKey("shared");
    try (PanopsCrypto pc = acmeAndGlobexSharing(fake, shared)) {
      EncryptedColumn acme =
          EncryptedColumn.builder(pc.tenant("acme")).table("mail").column("subject").build();
      byte[] ct = acme.encrypt("hello".getBytes(java.nio.charset.StandardCharsets.UTF_8), "1");
      long before = fake.totalCalls();
      java.sql.SQLException e =
          assertThrows(
              java.sql.SQLException.class,
              () -> acme.withTenant(pc.tenant("globex")).decrypt(ct, "1"));
      assertEquals(SqlStates.INTEGRITY, e.getSQLState());
      assertEquals(before, fake.totalCalls(), "refused before any KMS call");
      org.junit.jupiter.api.Assertions.assertFalse(
          pc.isRevoked(shared), "the shared key is not latched");
    }
  }

  @Test
  void aadBindsTenantTableColumnAndRow() {
    EncryptedColumn c =
        EncryptedColumn.builder(crypto.tenant("acme")).table("app.mail").column("subject").build();
    assertEquals(
        Map.of(
            "jdbc.tenant", "acme",
            "jdbc.table", "app.mail",
            "jdbc.column", "subject",
            "jdbc.row", "42"),
        c.aad("42").asMap());
  }

  @Test
  void callerMistakes_failFast() {
    assertThrows(
        IllegalStateException.class,
        () -> EncryptedColumn.builder(crypto.tenant("acme")).table("mail").build());
    assertThrows(
        IllegalArgumentException.class,
        () -> EncryptedColumn.builder(crypto.tenant("acme")).table("mail; drop"));
    EncryptedColumn c =
        EncryptedColumn.builder(crypto.tenant("acme")).table("mail").column("subject").build();
    assertThrows(IllegalArgumentException.class, () -> c.aad(""));
    assertThrows(NullPointerException.class, () -> c.aad(null));
  }
}
