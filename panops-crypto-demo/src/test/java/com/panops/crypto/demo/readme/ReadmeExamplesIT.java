package com.panops.crypto.demo.readme;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.jdbc.BlindIndex;
import com.panops.crypto.jdbc.BlindIndexKeyStore;
import com.panops.crypto.jdbc.EncryptedColumn;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.s3.EncryptingS3Client;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import com.panops.crypto.testkit.s3.S3MockServer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The code examples of the root README, run for real against LocalKms, S3Mock and PostgreSQL with
 * TLS. The regions between {@code // snippet: NAME} and {@code // end snippet} are exactly what
 * README.md shows ({@link ReadmeSnippetsTest} checks that they match).
 */
class ReadmeExamplesIT {
  static LocalKms localKms;
  static KmsClient kms;
  static String acmeCmkArn;
  static S3MockServer s3mock;
  static S3Client plainS3;
  static TlsPostgres postgres;
  static String jdbcUrl;
  static PanopsCrypto crypto;

  @BeforeAll
  static void start() {
    localKms = LocalKms.start();
    acmeCmkArn = localKms.createKey("acme");
    kms =
        KmsClient.builder()
            .endpointOverride(localKms.endpoint())
            .region(Region.of(localKms.region()))
            .credentialsProvider(localKms.vendor().credentialsProvider())
            .build();
    s3mock = S3MockServer.builder(S3MockServer.locateJar()).initialBuckets(List.of("mail")).start();
    plainS3 =
        S3Client.builder()
            .endpointOverride(s3mock.endpoint())
            .forcePathStyle(true)
            .region(Region.of(s3mock.region()))
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
            .build();
    postgres = TlsPostgres.start();
    jdbcUrl = postgres.jdbcUrl("postgres") + "&user=" + postgres.user();
    crypto = coreSetup();
  }

  @AfterAll
  static void stop() {
    if (crypto != null) {
      crypto.close();
    }
    if (plainS3 != null) {
      plainS3.close();
    }
    if (s3mock != null) {
      s3mock.close();
    }
    if (postgres != null) {
      postgres.close();
    }
    if (kms != null) {
      kms.close();
    }
    if (localKms != null) {
      localKms.close();
    }
  }

  static PanopsCrypto coreSetup() {
    // snippet: core-setup
    PanopsCrypto crypto =
        PanopsCrypto.builder()
            .kmsClient(kms) // your KmsClient: HTTPS, the vendor role's credentials
            .allowInsecureLocalKmsEndpoint() // only because this runs on LocalKms: not in
            // production
            .tenantDirectory(TenantDirectory.of(Map.of("acme", TenantKeys.of(acmeCmkArn))))
            .addRevocationListener(e -> System.err.println(e.keyArn() + " " + e.kind()))
            .build(); // one per process; thread-safe
    // end snippet
    return crypto;
  }

  @Test
  void coreBytes() {
    byte[] body = "Quarterly numbers attached.".getBytes();
    // snippet: core-bytes
    TenantCrypto acme = crypto.tenant("acme");
    KeyContext kc = KeyContext.of("class", "mail"); // coarse: sent to KMS, selects the data key
    MessageAad aad = MessageAad.of("table", "messages", "row", "42"); // fine: never sent to KMS
    byte[] ciphertext = acme.encrypt(body, kc, aad);
    byte[] plaintext = acme.decrypt(ciphertext, kc, aad); // IntegrityException if moved or changed
    // end snippet
    assertArrayEquals(body, plaintext);
    assertThrows(
        IntegrityException.class,
        () -> acme.decrypt(ciphertext, kc, MessageAad.of("table", "messages", "row", "43")));
  }

  @Test
  void coreStreams(@TempDir Path dir) throws Exception {
    TenantCrypto acme = crypto.tenant("acme");
    KeyContext kc = KeyContext.of("class", "attachment");
    MessageAad aad = MessageAad.of("object", "report.pdf");
    Path file = dir.resolve("report.pdf.enc");
    byte[] data = new byte[300_000];
    Arrays.fill(data, (byte) 7);
    InputStream in = new ByteArrayInputStream(data);
    ByteArrayOutputStream sink = new ByteArrayOutputStream();
    // snippet: core-streams
    try (OutputStream out = acme.encryptingStream(Files.newOutputStream(file), kc, aad)) {
      in.transferTo(out); // any size; memory: two frames
    }
    try (InputStream plain = acme.decryptingStream(Files.newInputStream(file), kc, aad)) {
      plain.transferTo(sink); // each frame is authenticated before its bytes are released
    }
    // end snippet
    assertArrayEquals(data, sink.toByteArray());
  }

  @Test
  void s3() {
    byte[] attachment = new byte[200_000];
    for (int i = 0; i < attachment.length; i++) {
      attachment[i] = (byte) (i * 7);
    }
    // snippet: s3
    S3Client s3 =
        EncryptingS3Client.builder()
            .s3Client(plainS3) // your S3Client
            .allowInsecureLocalS3Endpoint() // only because this runs on S3Mock: not in production
            .crypto(crypto)
            .tenant("acme")
            .keyContext(KeyContext.of("class", "attachment"))
            .build();
    s3.putObject(r -> r.bucket("mail").key("acme/att/1"), RequestBody.fromBytes(attachment));
    byte[] whole = s3.getObjectAsBytes(r -> r.bucket("mail").key("acme/att/1")).asByteArray();
    byte[] part =
        s3.getObjectAsBytes(r -> r.bucket("mail").key("acme/att/1").range("bytes=1000-1999"))
            .asByteArray(); // fetches and authenticates only the frames holding the range
    // end snippet
    assertArrayEquals(attachment, whole);
    assertArrayEquals(Arrays.copyOfRange(attachment, 1000, 2000), part);
    byte[] stored = plainS3.getObjectAsBytes(r -> r.bucket("mail").key("acme/att/1")).asByteArray();
    assertFalse(Arrays.equals(attachment, Arrays.copyOf(stored, attachment.length)));
  }

  @Test
  void jdbc() throws Exception {
    TenantCrypto acme = crypto.tenant("acme");
    PGSimpleDataSource setup = new PGSimpleDataSource();
    setup.setUrl(jdbcUrl);
    try (Connection c = setup.getConnection()) {
      c.createStatement()
          .execute(
              "CREATE TABLE IF NOT EXISTS messages"
                  + " (id text PRIMARY KEY, sender_bidx bytea, subject bytea)");
    }
    List<String> found = new ArrayList<>();
    // snippet: jdbc
    PGSimpleDataSource pg = new PGSimpleDataSource();
    pg.setUrl(jdbcUrl); // jdbc:postgresql://host/db?sslmode=verify-full&sslrootcert=/path/ca.pem
    DataSource ds = TlsEnforcingDataSource.requireVerifyFull(pg); // refuses anything weaker
    EncryptedColumn subject =
        EncryptedColumn.builder(acme).table("messages").column("subject").build();
    BlindIndexKeyStore indexKeys = BlindIndexKeyStore.on(ds);
    indexKeys.createTableIfMissing();
    BlindIndex sender =
        BlindIndex.builder(acme, indexKeys)
            .table("messages")
            .column("sender")
            .normalizer(BlindIndex.Normalizer.caseInsensitive())
            .build();
    try (Connection c = ds.getConnection()) {
      try (PreparedStatement ps =
          c.prepareStatement("INSERT INTO messages (id, sender_bidx, subject) VALUES (?, ?, ?)")) {
        ps.setString(1, "42");
        sender.bind(ps, 2, "Alice@Example.com");
        subject.bind(ps, 3, "Quarterly numbers", "42"); // "42" is the row key
        ps.executeUpdate();
      }
      try (PreparedStatement ps =
          c.prepareStatement("SELECT id, subject FROM messages WHERE sender_bidx = ?")) {
        sender.bind(ps, 1, "alice@example.com");
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            found.add(subject.getString(rs, 2, rs.getString(1)));
          }
        }
      }
    }
    // end snippet
    assertEquals(List.of("Quarterly numbers"), found);
  }
}
