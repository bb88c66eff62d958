package com.panops.crypto.testkit;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.testkit.postgres.TlsPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.DisabledException;

/**
 * The testkit README's example of a user's own test, run as it is written there (a check below
 * keeps the README and this code identical).
 */
class ReadmeExampleIT {

  @Test
  void theReadmesExampleOfAUsersTest_runs() throws Exception {
    // snippet: users-test
    try (LocalKms kms = LocalKms.start(); // KMS on 127.0.0.1, a free port
        TlsPostgres pg = TlsPostgres.start(); // PostgreSQL 16, TLS only, a free port
        KmsClient vendor =
            KmsClient.builder() // what the application under test is given
                .endpointOverride(kms.endpoint())
                .region(Region.of(kms.region()))
                .credentialsProvider(kms.vendor().credentialsProvider()) // static test keys
                .build();
        KmsClient customer =
            KmsClient.builder() // the customer's key administrator, over the same wire
                .endpointOverride(kms.endpoint())
                .region(Region.of(kms.region()))
                .credentialsProvider(kms.admin().credentialsProvider())
                .build();
        Connection db = DriverManager.getConnection(pg.jdbcUrl("postgres"), pg.user(), "")) {
      String key = kms.createKey("tenant-42"); // Enabled, the seed's key policy
      SdkBytes wrapped =
          vendor.generateDataKey(r -> r.keyId(key).keySpec(DataKeySpec.AES_256)).ciphertextBlob();
      db.createStatement().execute("CREATE TABLE keys (id int PRIMARY KEY, edk bytea)");
      try (PreparedStatement ps = db.prepareStatement("INSERT INTO keys VALUES (1, ?)")) {
        ps.setBytes(1, wrapped.asByteArray()); // over verify-full TLS (pg.jdbcUrl says so)
        ps.executeUpdate();
      }

      customer.disableKey(r -> r.keyId(key)); // the kill switch, as the customer pulls it

      ResultSet rs = db.createStatement().executeQuery("SELECT edk FROM keys WHERE id = 1");
      assertTrue(rs.next());
      SdkBytes stored = SdkBytes.fromByteArray(rs.getBytes(1));
      assertThrows(DisabledException.class, () -> vendor.decrypt(r -> r.ciphertextBlob(stored)));
      assertEquals("DisableKey", kms.trail().get(kms.trail().size() - 2).eventName());
    }
    // end snippet
  }

  @Test
  void theReadmeShowsThisCode_lineForLine() throws Exception {
    List<String> readme = Files.readAllLines(Path.of("README.md"), StandardCharsets.UTF_8);
    List<String> inReadme = new ArrayList<>();
    int at = readme.indexOf("<!-- snippet: users-test -->");
    assertTrue(at >= 0, "README.md has the users-test snippet");
    for (int j = at + 2; !readme.get(j).equals("```"); j++) {
      inReadme.add(readme.get(j));
    }
    List<String> code =
        Files.readAllLines(
            Path.of("src/test/java/com/panops/crypto/testkit/ReadmeExampleIT.java"),
            StandardCharsets.UTF_8);
    int from = code.indexOf("    // snippet: users-test");
    int to = code.indexOf("    // end snippet");
    List<String> inCode = new ArrayList<>();
    for (String l : code.subList(from + 1, to)) {
      inCode.add(l.length() >= 4 ? l.substring(4) : l.strip());
    }
    assertEquals(String.join("\n", inCode), String.join("\n", inReadme));
  }
}
