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
  void gssEncryption_isForcedOff_underEveryDriverDefault_andAUrlAskingForItIsRefused(
      @TempDir Path dir) throws Exception {
    Path config = dir.resolve("org/postgresql/driverconfig.properties");
    Files.createDirectories(config.getParent());
    Files.writeString(config, "gssEncMode=require\n");
    Properties defaults;
    try (URLClassLoader cl = new URLClassLoader(new URL[] {dir.toUri().toURL()}, null)) {
      defaults = TlsEnforcingDataSource.loadDriverDefaults(cl);
    }
    String verifyFull = "jdbc:postgresql://db.example/app?sslmode=verify-full";
    for (Properties d : new Properties[] {new Properties(), defaults}) {
      Properties used =
          TlsEnforcingDataSource.effectiveSettings(
              d, TlsEnforcingDataSource.connectionProperties("app", "pw"), verifyFull);
      assertEquals(
          "disable",
          org.postgresql.PGProperty.GSS_ENC_MODE.getOrDefault(used),
          "what the wrapper connects with");
      assertNull(TlsEnforcingDataSource.refusal(used, false));
    }
    // what a PGSimpleDataSource hands out: every property, pgjdbc's default gssEncMode=allow too
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(verifyFull);
    assertTrue(ds.getUrl().contains("gssEncMode=allow"), ds.getUrl());
    String forced = TlsEnforcingDataSource.withGssEncryptionOff(ds.getUrl());
    Properties used =
        TlsEnforcingDataSource.effectiveSettings(
            defaults, TlsEnforcingDataSource.connectionProperties(null, null), forced);
    assertEquals("disable", org.postgresql.PGProperty.GSS_ENC_MODE.getOrDefault(used));
    assertEquals("verify-full", used.getProperty("sslmode"), "nothing else changed");
    assertEquals("db.example", used.getProperty("PGHOST"));
    assertNull(TlsEnforcingDataSource.refusal(used, false));
    for (String mode : new String[] {"prefer", "require"}) {
      ds = new PGSimpleDataSource(); // setUrl on a used one keeps what the last URL set
      ds.setUrl(verifyFull + "&gssEncMode=" + mode);
      assertTrue(ds.getUrl().contains("gssEncMode=" + mode), ds.getUrl());
      assertEquals(
          ds.getUrl(),
          TlsEnforcingDataSource.withGssEncryptionOff(ds.getUrl()),
          "asked outright: left as it is, to be refused");
    }
    for (String mode : new String[] {"allow", "prefer", "require"}) {
      String r =
          TlsEnforcingDataSource.refusal(
              TlsEnforcingDataSource.effectiveSettings(
                  new Properties(),
                  TlsEnforcingDataSource.connectionProperties(null, null),
                  verifyFull + "&gssEncMode=" + mode),
              false);
      assertNotNull(r, mode);
      assertTrue(r.contains("gssEncMode=" + mode), r);
    }
    assertNull(strict(verifyFull + "&gssEncMode=disable"));
    String local = TlsEnforcingDataSource.refusal(url(verifyFull + "&gssEncMode=require"), true);
    assertTrue(
        local != null && local.contains("gssEncMode=require"),
        "the local opt-in does not cover a remote host: " + local);
  }

  @Test
  void aUrlThatIsNotPgjdbcs_hasNoEffectiveSettings() {
    assertNull(
        TlsEnforcingDataSource.effectiveSettings(
            new Properties(), new Properties(), "jdbc:mysql://db.example/app"));
  }
}
