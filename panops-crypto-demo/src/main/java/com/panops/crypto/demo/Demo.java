package com.panops.crypto.demo;

import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import java.io.PrintStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.DisabledException;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * The project's main job on embedded defaults, for now: start LocalKms, and through the real AWS
 * SDK show a GenerateDataKey/Decrypt round trip as the vendor, then the customer's kill switch
 * (disabling the key) refusing the vendor's next Decrypt. Exits non-zero if any expectation fails.
 */
public final class Demo {

  private static final Map<String, String> KEY_CONTEXT =
      Map.of("tenant", "acme-corp", "purpose", "mail");

  private Demo() {}

  public static void main(String[] args) {
    boolean ok;
    try {
      ok = run(System.out);
    } catch (RuntimeException e) {
      System.out.println("The demo failed unexpectedly: " + e);
      ok = false;
    }
    System.exit(ok ? 0 : 1);
  }

  /** Runs the walkthrough, printing it to {@code out}; returns whether every expectation held. */
  public static boolean run(PrintStream out) {
    Checks checks = new Checks(out);
    out.println(
        "PanOps crypto demo: customer-managed KMS key and kill switch (LocalKms, real AWS SDK)");
    out.println();
    try (LocalKms kms = LocalKms.start()) {
      out.println(
          "1. LocalKms is listening on "
              + kms.endpoint()
              + " (region "
              + kms.region()
              + "). The customer's AWS account is "
              + kms.accountId()
              + ".");
      String keyArn = kms.createKey("acme-corp data key");
      out.println("2. The customer created its key " + keyArn);
      out.println(
          "   with the seed key policy: the vendor may only Encrypt, Decrypt, ReEncrypt*,"
              + " GenerateDataKey and DescribeKey.");

      try (KmsClient vendor =
          KmsClient.builder()
              .endpointOverride(kms.endpoint())
              .region(Region.of(kms.region()))
              .credentialsProvider(
                  StaticCredentialsProvider.create(
                      AwsBasicCredentials.create(
                          kms.vendor().accessKeyId(), kms.vendor().secretAccessKey())))
              .overrideConfiguration(
                  o ->
                      o.retryStrategy(AwsRetryStrategy.doNotRetry())
                          .apiCallTimeout(Duration.ofSeconds(20)))
              .build()) {
        out.println("3. The vendor, " + kms.vendor().arn() + ", asks KMS for a data key");
        out.println("   with key context " + KEY_CONTEXT + ".");
        GenerateDataKeyResponse dataKey =
            vendor.generateDataKey(
                r -> r.keyId(keyArn).keySpec(DataKeySpec.AES_256).encryptionContext(KEY_CONTEXT));
        byte[] plaintextKey = dataKey.plaintext().asByteArray();
        SdkBytes encryptedKey = dataKey.ciphertextBlob();
        out.println(
            "   KMS answered with a "
                + plaintextKey.length * 8
                + "-bit data key (fingerprint "
                + fingerprint(plaintextKey)
                + ") and its "
                + encryptedKey.asByteArray().length
                + "-byte encrypted copy, which is what gets stored.");
        checks.expect("the data key is 256 bits", plaintextKey.length == 32);
        checks.expect("KMS names the customer's key", keyArn.equals(dataKey.keyId()));

        out.println("4. Later the vendor decrypts the stored copy to get the data key back.");
        byte[] decrypted =
            vendor
                .decrypt(
                    r ->
                        r.keyId(keyArn).ciphertextBlob(encryptedKey).encryptionContext(KEY_CONTEXT))
                .plaintext()
                .asByteArray();
        out.println("   Decrypted data key fingerprint " + fingerprint(decrypted) + ".");
        checks.expect(
            "the decrypted data key equals the one generated",
            Arrays.equals(plaintextKey, decrypted));

        out.println(
            "5. The customer pulls the kill switch: it disables its key in its own account.");
        kms.disableKey(keyArn);

        out.println("6. The vendor tries to decrypt the same stored copy again.");
        try {
          vendor.decrypt(
              r -> r.keyId(keyArn).ciphertextBlob(encryptedKey).encryptionContext(KEY_CONTEXT));
          checks.expect("KMS refuses Decrypt with DisabledException", false);
        } catch (DisabledException e) {
          out.println(
              "   KMS refused: DisabledException (\""
                  + e.awsErrorDetails().errorMessage()
                  + "\").");
          checks.expect("KMS refuses Decrypt with DisabledException", true);
        }

        out.println("7. The vendor tries to re-enable the key itself.");
        try {
          vendor.enableKey(r -> r.keyId(keyArn));
          checks.expect("the vendor cannot undo the kill switch", false);
        } catch (KmsException e) {
          out.println("   KMS refused: " + e.awsErrorDetails().errorCode() + ".");
          checks.expect(
              "the vendor cannot undo the kill switch",
              "AccessDeniedException".equals(e.awsErrorDetails().errorCode()));
        }
      }

      out.println("8. What the customer sees in its trail (every call, allowed or refused):");
      for (TrailEvent e : kms.trail()) {
        out.println(
            "   "
                + e.eventTime().truncatedTo(ChronoUnit.MILLIS)
                + "  "
                + pad(e.eventName(), 16)
                + " by "
                + pad(e.userArn(), 50)
                + (e.encryptionContext().isEmpty() ? "" : " context " + e.encryptionContext())
                + "  -> "
                + (e.errorCode() == null ? "allowed" : "refused: " + e.errorCode()));
      }
      checks.expect(
          "the trail shows the refused Decrypt",
          kms.trail().stream()
              .anyMatch(
                  e ->
                      "Decrypt".equals(e.eventName())
                          && "DisabledException".equals(e.errorCode())
                          && kms.vendor().arn().equals(e.userArn())));
    }
    out.println();
    return checks.report();
  }

  private static String pad(String s, int width) {
    String v = s == null ? "-" : s;
    return v.length() >= width ? v : v + " ".repeat(width - v.length());
  }

  /** A short SHA-256 fingerprint, so the demo never prints a key itself. */
  private static String fingerprint(byte[] key) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(key);
      return "sha256:" + HexFormat.of().formatHex(h, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static final class Checks {
    private final PrintStream out;
    private int failed;
    private int passed;

    Checks(PrintStream out) {
      this.out = out;
    }

    void expect(String what, boolean ok) {
      if (ok) {
        passed++;
        out.println("   [ok] " + what);
      } else {
        failed++;
        out.println("   [FAILED] " + what);
      }
    }

    boolean report() {
      if (failed == 0) {
        out.println("All " + passed + " expectations held.");
        return true;
      }
      out.println(failed + " of " + (passed + failed) + " expectations FAILED.");
      return false;
    }
  }
}
