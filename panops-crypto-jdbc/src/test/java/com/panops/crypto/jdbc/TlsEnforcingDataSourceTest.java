package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.Driver;
import org.postgresql.ds.PGSimpleDataSource;

/** The TLS policy, offline: what is refused and why, without a server. */
class TlsEnforcingDataSourceTest {

  private static Properties url(String url) {
    return Driver.parseURL(url, new Properties());
  }

  private static String strict(String u) {
    return TlsEnforcingDataSource.refusal(url(u), false);
  }

  private static String local(String u) {
    return TlsEnforcingDataSource.refusal(url(u), true);
  }

  @Test
  void verifyFull_isAccepted_withTheDefaultOrAJvmTrustStoreFactory() {
    assertNull(strict("jdbc:postgresql://db.example/app?sslmode=verify-full"));
    assertNull(strict("jdbc:postgresql://db.example/app?ssl=true"));
    assertNull(
        strict(
            "jdbc:postgresql://db.example/app?sslmode=verify-full"
                + "&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory"));
    assertNull(
        strict(
            "jdbc:postgresql://db.example/app?sslmode=verify-full"
                + "&sslhostnameverifier=org.postgresql.ssl.PGjdbcHostnameVerifier"));
  }

  @Test
  void everyWeakerMode_isRefused_namingTheMode() {
    assertTrue(strict("jdbc:postgresql://db.example/app").contains("sslmode=prefer"));
    for (String mode : new String[] {"disable", "allow", "prefer", "require", "verify-ca"}) {
      String r = strict("jdbc:postgresql://db.example/app?sslmode=" + mode);
      assertNotNull(r, mode);
      assertTrue(r.contains("sslmode=" + mode), r);
    }
    assertNotNull(strict("jdbc:postgresql://db.example/app?ssl=false"));
  }

  @Test
  void verifyFullHollowedOutByAFactoryOrVerifier_isRefused() {
    assertNotNull(
        strict(
            "jdbc:postgresql://db.example/app?sslmode=verify-full"
                + "&sslfactory=org.postgresql.ssl.NonValidatingFactory"));
    assertNotNull(
        strict(
            "jdbc:postgresql://db.example/app?sslmode=verify-full"
                + "&sslhostnameverifier=com.example.AcceptAll"));
  }

  @Test
  void anInvalidSslmode_isRefused() {
    assertNotNull(strict("jdbc:postgresql://db.example/app?sslmode=sometimes"));
  }

  @Test
  void localOptIn_acceptsAnyModeOnLoopbackLiteralsOnly() {
    assertNull(local("jdbc:postgresql://localhost:5432/app?sslmode=disable"));
    assertNull(local("jdbc:postgresql://127.0.0.1:5432/app"));
    assertNull(local("jdbc:postgresql://[::1]:5432/app?sslmode=require"));
    assertNull(local("jdbc:postgresql://localhost:5432,127.0.0.2:5433/app?sslmode=require"));
    assertNotNull(local("jdbc:postgresql://db.example/app?sslmode=require"));
    assertNotNull(local("jdbc:postgresql://localhost,db.example/app?sslmode=require"));
    assertNotNull(local("jdbc:postgresql://localhost.example.com/app?sslmode=require"));
    assertNull(local("jdbc:postgresql://db.example/app?sslmode=verify-full"));
  }

  @Test
  void aPgjdbcDataSourceWithoutVerifyFull_isRefusedBeforeAnySocketIsOpened() {
    PGSimpleDataSource pg = new PGSimpleDataSource();
    pg.setServerNames(new String[] {"db.example.invalid"});
    pg.setSslMode("require");
    SQLException e =
        assertThrows(
            SQLException.class, () -> TlsEnforcingDataSource.requireVerifyFull(pg).getConnection());
    assertEquals(SqlStates.INSECURE_TRANSPORT, e.getSQLState());
    assertTrue(e.getMessage().contains("sslmode=require"), e.getMessage());
  }

  @Test
  void theEffectiveSettings_mergeDriverDefaultsThenPropertiesThenUrl_asPgjdbcDoes(@TempDir Path dir)
      throws Exception {
    Path config = dir.resolve("org/postgresql/driverconfig.properties");
    Files.createDirectories(config.getParent());
    Files.writeString(config, "sslfactory=org.postgresql.ssl.NonValidatingFactory\n");
    Properties defaults;
    try (URLClassLoader cl = new URLClassLoader(new URL[] {dir.toUri().toURL()}, null)) {
      defaults = TlsEnforcingDataSource.loadDriverDefaults(cl);
    }
    String verifyFull = "jdbc:postgresql://db.example/app?sslmode=verify-full";
    // a driverconfig.properties on the class path hollows out verify-full: refused
    String r =
        TlsEnforcingDataSource.refusal(
            TlsEnforcingDataSource.effectiveSettings(defaults, new Properties(), verifyFull),
            false);
    assertNotNull(r);
    assertTrue(r.contains("NonValidatingFactory"), r);
    // a connection property overrides the defaults, the URL overrides both
    Properties info = new Properties();
    info.setProperty("sslfactory", "org.postgresql.ssl.LibPQFactory");
    assertNull(
        TlsEnforcingDataSource.refusal(
            TlsEnforcingDataSource.effectiveSettings(defaults, info, verifyFull), false));
    info.setProperty("sslfactory", "org.postgresql.ssl.NonValidatingFactory");
    assertNotNull(
        TlsEnforcingDataSource.refusal(
            TlsEnforcingDataSource.effectiveSettings(new Properties(), info, verifyFull), false));
    assertNull(
        TlsEnforcingDataSource.refusal(
            TlsEnforcingDataSource.effectiveSettings(
                defaults, info, verifyFull + "&sslfactory=org.postgresql.ssl.LibPQFactory"),
            false));
    info.setProperty("sslmode", "require");
    assertNotNull(
        TlsEnforcingDataSource.refusal(
            TlsEnforcingDataSource.effectiveSettings(
                new Properties(), info, verifyFull.replace("sslmode=verify-full", "ssl=true")),
            false),
        "sslmode=require as a property beats ssl=true in the URL, as in pgjdbc: refused");
  }

  @Test
  void aUrlThatIsNotPgjdbcs_hasNoEffectiveSettings() {
    assertNull(
        TlsEnforcingDataSource.effectiveSettings(
            new Properties(), new Properties(), "jdbc:mysql://db.example/app"));
  }
}
