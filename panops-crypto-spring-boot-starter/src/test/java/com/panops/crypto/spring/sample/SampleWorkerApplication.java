package com.panops.crypto.spring.sample;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.jdbc.EncryptedColumn;
import java.net.URI;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;

// snippet: sample-application
/**
 * A connector worker on Spring Boot: everything panops-crypto needs comes from application.yml
 * (panops.crypto.*) and two client beans. The clients here point at LocalKms and S3Mock with static
 * test credentials; in production, build them as usual (HTTPS, the vendor role's credentials) and
 * drop every allow-insecure-* property.
 */
@SpringBootApplication
public class SampleWorkerApplication {
  private static final Logger log = LoggerFactory.getLogger(SampleWorkerApplication.class);

  public static void main(String[] args) {
    SpringApplication.run(SampleWorkerApplication.class, args);
  }

  /** The vendor role's KMS client (without this bean: the SDK's default chain). */
  @Bean
  KmsClient kmsClient(
      @Value("${sample.kms.endpoint}") URI endpoint,
      @Value("${sample.kms.region}") String region,
      @Value("${sample.kms.access-key-id}") String accessKeyId,
      @Value("${sample.kms.secret-access-key}") String secretAccessKey) {
    return KmsClient.builder()
        .endpointOverride(endpoint)
        .region(Region.of(region))
        .credentialsProvider(
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create(accessKeyId, secretAccessKey)))
        .build();
  }

  /**
   * The plain S3 client: the starter wraps it (panops.crypto.s3.enabled) and makes the encrypting
   * one the primary S3Client; this one stays injectable as @Qualifier("plainS3Client").
   */
  @Bean
  S3Client s3Client(
      @Value("${sample.s3.endpoint}") URI endpoint, @Value("${sample.s3.region}") String region) {
    return S3Client.builder()
        .endpointOverride(endpoint)
        .forcePathStyle(true)
        .region(Region.of(region))
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create("sample", "sample")))
        .build();
  }

  /** Stores a message: its subject encrypted in PostgreSQL, its attachment encrypted in S3. */
  @Component
  public static class MailStore {
    private final S3Client s3; // the encrypting client (primary)
    private final DataSource db; // HikariCP over TlsEnforcingDataSource (verify-full)
    private final EncryptedColumn subject;

    MailStore(S3Client s3, DataSource db, PanopsCrypto crypto) {
      this.s3 = s3;
      this.db = db;
      this.subject =
          EncryptedColumn.builder(crypto, "acme").table("messages").column("subject").build();
    }

    public void store(String id, String subjectText, byte[] attachment) throws SQLException {
      s3.putObject(r -> r.bucket("mail").key("acme/" + id), RequestBody.fromBytes(attachment));
      try (Connection c = db.getConnection();
          PreparedStatement ps =
              c.prepareStatement("INSERT INTO messages (id, subject) VALUES (?, ?)")) {
        ps.setString(1, id);
        subject.bind(ps, 2, subjectText, id); // bound to its row
        ps.executeUpdate();
      }
    }

    public String subject(String id) throws SQLException {
      try (Connection c = db.getConnection();
          PreparedStatement ps = c.prepareStatement("SELECT subject FROM messages WHERE id = ?")) {
        ps.setString(1, id);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? subject.getString(rs, 1, id) : null;
        }
      }
    }

    public byte[] attachment(String id) {
      return s3.getObjectAsBytes(r -> r.bucket("mail").key("acme/" + id)).asByteArray();
    }
  }

  /** A customer's kill switch, as a Spring event: alert, stop that tenant's jobs. */
  @Component
  public static class Revocations {
    final List<RevocationEvent> seen = new CopyOnWriteArrayList<>();

    @EventListener
    public void on(RevocationEvent e) {
      log.warn("CMK {} {} ({})", e.keyArn(), e.kind(), e.reason());
      seen.add(e);
    }

    public List<RevocationEvent> seen() {
      return List.copyOf(seen);
    }
  }
}
// end snippet
