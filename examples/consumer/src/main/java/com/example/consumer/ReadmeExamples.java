package com.example.consumer;

import static com.example.consumer.Check.check;

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
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
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
import org.postgresql.ds.PGSimpleDataSource;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The root README's examples, as a user's code: the regions between {@code // snippet: NAME} and
 * {@code // end snippet} are exactly what README.md shows (Consumer checks that first).
 */
final class ReadmeExamples {
  private final KmsClient kms;
  private final String acmeCmkArn;
  private final S3Client plainS3;
  private final String jdbcUrl;
  PanopsCrypto crypto;

  ReadmeExamples(KmsClient kms, String acmeCmkArn, S3Client plainS3, String jdbcUrl) {
    this.kms = kms;
    this.acmeCmkArn = acmeCmkArn;
    this.plainS3 = plainS3;
    this.jdbcUrl = jdbcUrl;
  }

  void coreSetup() {
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
    this.crypto = crypto;
  }

  void coreBytes() {
    byte[] body = "Quarterly numbers attached.".getBytes(StandardCharsets.UTF_8);
    // snippet: core-bytes
    TenantCrypto acme = crypto.tenant("acme");
    KeyContext kc = KeyContext.of("class", "mail"); // coarse: sent to KMS, selects the data key
    MessageAad aad = MessageAad.of("table", "messages", "row", "42"); // fine: never sent to KMS
    byte[] ciphertext = acme.encrypt(body, kc, aad);
    byte[] plaintext = acme.decrypt(ciphertext, kc, aad); // IntegrityException if moved or changed
    // end snippet
    check(Arrays.equals(body, plaintext), "core: decrypt gives the plaintext back");
    boolean refused = false;
    try {
      acme.decrypt(ciphertext, kc, MessageAad.of("table", "messages", "row", "43"));
    } catch (IntegrityException expected) {
      refused = true;
    }
    check(refused, "core: a message moved to another row is an IntegrityException");
  }

  void coreStreams(Path dir) throws Exception {
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
    check(Arrays.equals(data, sink.toByteArray()), "core: a 300 kB stream round-trips");
  }

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
    check(Arrays.equals(attachment, whole), "s3: the whole object reads back");
    check(
        Arrays.equals(Arrays.copyOfRange(attachment, 1000, 2000), part),
        "s3: the range 1000-1999 reads back");
    byte[] stored = plainS3.getObjectAsBytes(r -> r.bucket("mail").key("acme/att/1")).asByteArray();
    check(
        !Arrays.equals(attachment, Arrays.copyOf(stored, attachment.length)),
        "s3: the stored object is not the plaintext");
  }

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
    check(found.equals(List.of("Quarterly numbers")), "jdbc: the blind index finds the row");
    try (Connection c = setup.getConnection();
        ResultSet rs = c.createStatement().executeQuery("SELECT subject FROM messages")) {
      rs.next();
      check(
          !new String(rs.getBytes(1), StandardCharsets.ISO_8859_1).contains("Quarterly"),
          "jdbc: the stored column is not the plaintext");
    }
  }
}
