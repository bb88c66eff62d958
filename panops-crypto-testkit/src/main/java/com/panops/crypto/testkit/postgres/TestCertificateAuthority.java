package com.panops.crypto.testkit.postgres;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A throw-away certificate authority for tests: a self-signed RSA-2048 root that issues TLS server
 * certificates, made with BouncyCastle. Nothing is persisted beyond the PEM files the caller asks
 * for.
 *
 * <p>Keys are written as PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}) with mode 0600: PostgreSQL
 * refuses a key file readable by others, and refuses an EC key in the {@code BEGIN EC PRIVATE KEY}
 * form.
 *
 * <p>Thread-safe (immutable after creation).
 */
public final class TestCertificateAuthority {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Duration VALIDITY = Duration.ofDays(2);

  private final X500Name name;
  private final KeyPair keys;
  private final X509Certificate certificate;

  private TestCertificateAuthority(X500Name name, KeyPair keys, X509Certificate certificate) {
    this.name = name;
    this.keys = keys;
    this.certificate = certificate;
  }

  /** A new root CA with the given common name, valid from one hour ago for two days. */
  public static TestCertificateAuthority create(String commonName) {
    Objects.requireNonNull(commonName, "commonName");
    try {
      KeyPair kp = rsa();
      X500Name subject = new X500Name("CN=" + commonName + ",O=panops-crypto test");
      X509v3CertificateBuilder b = builder(subject, subject, kp);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(
          Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      X509Certificate cert = sign(b, kp.getPrivate());
      return new TestCertificateAuthority(subject, kp, cert);
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("could not create a test CA", e);
    }
  }

  /** The root certificate (what a client trusts: pgjdbc's {@code sslrootcert}). */
  public X509Certificate certificate() {
    return certificate;
  }

  /** Writes the root certificate as PEM to {@code file}. */
  public void writeCertificatePem(Path file) {
    writeString(file, pem("CERTIFICATE", encoded(certificate)), false);
  }

  /**
   * Issues a server certificate for the given names: each is added to the subject alternative names
   * as an IP address if it parses as a literal address, else as a DNS name. The first name is the
   * subject CN.
   */
  public ServerCredentials issueServerCertificate(String... names) {
    if (names.length == 0) {
      throw new IllegalArgumentException("at least one name");
    }
    try {
      KeyPair kp = rsa();
      X509v3CertificateBuilder b =
          builder(name, new X500Name("CN=" + names[0] + ",O=panops-crypto test"), kp);
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      List<GeneralName> sans = new ArrayList<>();
      for (String n : names) {
        sans.add(
            isIpLiteral(n)
                ? new GeneralName(GeneralName.iPAddress, n)
                : new GeneralName(GeneralName.dNSName, n));
      }
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(sans.toArray(new GeneralName[0])));
      b.addExtension(
          Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
      b.addExtension(
          Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      return new ServerCredentials(sign(b, keys.getPrivate()), kp.getPrivate());
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("could not issue a server certificate", e);
    }
  }

  /** A server certificate and its private key. */
  public static final class ServerCredentials {
    private final X509Certificate certificate;
    private final PrivateKey privateKey;

    ServerCredentials(X509Certificate certificate, PrivateKey privateKey) {
      this.certificate = certificate;
      this.privateKey = privateKey;
    }

    public X509Certificate certificate() {
      return certificate;
    }

    /** Writes the certificate as PEM. */
    public void writeCertificatePem(Path file) {
      writeString(file, pem("CERTIFICATE", encoded(certificate)), false);
    }

    /** Writes the private key as PKCS#8 PEM ({@code BEGIN PRIVATE KEY}), mode 0600. */
    public void writePrivateKeyPem(Path file) {
      writeString(file, pem("PRIVATE KEY", privateKey.getEncoded()), true);
    }

    @Override
    public String toString() {
      return "ServerCredentials[" + certificate.getSubjectX500Principal() + "]";
    }
  }

  @Override
  public String toString() {
    return "TestCertificateAuthority[" + name + "]";
  }

  // ------------------------------------------------------------------ helpers

  private static KeyPair rsa() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048, RANDOM);
    return g.generateKeyPair();
  }

  /**
   * A certificate of {@code subject} for {@code subjectKeys}' public key, issued by {@code issuer},
   * with a random serial, valid from one hour ago for {@link #VALIDITY}.
   */
  private static X509v3CertificateBuilder builder(
      X500Name issuer, X500Name subject, KeyPair subjectKeys) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        serial(),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(VALIDITY)),
        subject,
        subjectKeys.getPublic());
  }

  private static BigInteger serial() {
    return new BigInteger(64, RANDOM).add(BigInteger.ONE);
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer)
      throws OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withRSA").build(signer)));
  }

  private static boolean isIpLiteral(String s) {
    if (!s.matches("[0-9.]+") && !s.contains(":")) {
      return false;
    }
    try {
      InetAddress.getByName(s); // a literal never triggers a lookup
      return true;
    } catch (UnknownHostException e) {
      return false;
    }
  }

  private static byte[] encoded(X509Certificate c) {
    try {
      return c.getEncoded();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  static String pem(String type, byte[] der) {
    return "-----BEGIN "
        + type
        + "-----\n"
        + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
        + "\n-----END "
        + type
        + "-----\n";
  }

  private static void writeString(Path file, String content, boolean secret) {
    try {
      if (secret) {
        Files.deleteIfExists(file);
        Files.createFile(
            file,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      }
      Files.writeString(file, content, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
