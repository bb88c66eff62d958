package com.panops.crypto.spring;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.SdkPlugin;
import software.amazon.awssdk.core.SdkServiceClientConfiguration;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DescribeKeyResponse;
import software.amazon.awssdk.services.kms.model.KeyMetadata;
import software.amazon.awssdk.services.kms.model.KeySpec;
import software.amazon.awssdk.services.kms.model.KeyState;
import software.amazon.awssdk.services.kms.model.KeyUsageType;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.NotFoundException;

/**
 * The start-up check of the configured CMKs ({@code panops.crypto.kms.verify-keys-on-startup}):
 * each key is described once ({@code kms:DescribeKey}, which the vendor's policy grants), so that a
 * wrong ARN, a key in another region or a key that cannot encrypt fails the start with a message
 * naming the setting, instead of starting and then reading as a customer's revocation ({@code
 * NOT_FOUND}) on first use.
 *
 * <p>Design: only what is a configuration error fails the start. A key the customer disabled or
 * scheduled for deletion, or whose policy no longer lets the vendor describe it, is the customer's
 * kill switch, not a mistake: it is logged and the start goes on (the library latches the key on
 * first use, and every other tenant is served). A KMS that cannot be reached is logged too: the
 * library fails closed per call, and a worker that cannot start while KMS is down would only crash
 * and restart. A key KMS does not know at all fails the start, although it may be a key the
 * customer deleted: KMS cannot tell the two apart, and a deleted key's data is lost for everyone,
 * so the tenant's entry should go (the message says so).
 */
final class StartupKeyCheck {
  private static final Logger log = LoggerFactory.getLogger(StartupKeyCheck.class);
  static final String OPT_OUT = "panops.crypto.kms.verify-keys-on-startup=false";

  private StartupKeyCheck() {}

  /** Bound of one DescribeKey (all attempts), and of one attempt. */
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);

  static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(2);

  /** Bound of the whole check: past it, the keys not yet described are skipped (logged). */
  static final Duration DEADLINE = Duration.ofSeconds(30);

  /**
   * Checks every key of {@code keys} (key ARN to the setting that names it).
   *
   * @throws PanopsCryptoStartupException for a configuration error
   */
  static void check(KmsClient kms, Map<String, String> keys, boolean allowLocalHttp) {
    Region clientRegion = regionOf(kms);
    Map<String, String> distinct = new LinkedHashMap<>(keys);
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    int done = 0;
    for (Map.Entry<String, String> k : distinct.entrySet()) {
      boolean reached = check(kms, clientRegion, k.getKey(), k.getValue(), allowLocalHttp);
      done++;
      int left = distinct.size() - done;
      if (left > 0 && (!reached || System.nanoTime() > deadline)) {
        // KMS did not answer (or the check ran out of time): one line for the rest, and the start
        // goes on; every call fails closed until KMS answers
        log.warn(
            "start-up check of the CMKs stopped: {} more key(s) not described ({})",
            left,
            reached ? "the check took longer than " + DEADLINE : "KMS could not be reached");
        return;
      }
    }
  }

  /**
   * HTTPS for the check's own requests, as for the library's: plain HTTP only with the loopback
   * opt-in and to a literal loopback address (127.0.0.0/8, ::1). A refused request is not sent
   * (logged as "could not be reached").
   */
  static final class HttpsOnly implements SdkPlugin, ExecutionInterceptor {
    private final boolean allowLocalHttp;

    HttpsOnly(boolean allowLocalHttp) {
      this.allowLocalHttp = allowLocalHttp;
    }

    @Override
    public void configureClient(SdkServiceClientConfiguration.Builder config) {
      ClientOverrideConfiguration current = config.overrideConfiguration();
      ClientOverrideConfiguration.Builder b =
          current == null ? ClientOverrideConfiguration.builder() : current.toBuilder();
      config.overrideConfiguration(b.addExecutionInterceptor(this).build());
    }

    @Override
    public void beforeTransmission(Context.BeforeTransmission c, ExecutionAttributes a) {
      SdkHttpRequest r = c.httpRequest();
      if ("https".equalsIgnoreCase(r.protocol())) {
        return;
      }
      String h = r.host();
      boolean loopback =
          h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}") || h.equals("[::1]") || h.equals("::1");
      if (!allowLocalHttp || !loopback) {
        throw SdkClientException.create(
            "refused to send DescribeKey to " + r.protocol() + "://" + h + ": not HTTPS");
      }
    }
  }

  private static Region regionOf(KmsClient kms) {
    try {
      return kms.serviceClientConfiguration().region();
    } catch (RuntimeException e) {
      return null; // a client of the application's own making that does not say
    }
  }

  /** What one DescribeKey told: the key's metadata if KMS gave it, and whether KMS answered. */
  private record Described(KeyMetadata metadata, boolean reached) {}

  /** Checks one key; returns whether KMS answered (false: it could not be reached). */
  private static boolean check(
      KmsClient kms, Region clientRegion, String arn, String setting, boolean allowLocalHttp) {
    requireClientRegion(clientRegion, arn, setting);
    Described d = describe(kms, clientRegion, arn, setting, allowLocalHttp);
    if (d.metadata() != null) {
      requireSymmetricEncryptionKey(d.metadata(), setting);
      warnIfNotEnabled(d.metadata(), arn, setting);
    }
    return d.reached();
  }

  /** A key ARN in another region than the client's fails the start: every call would fail. */
  private static void requireClientRegion(Region clientRegion, String arn, String setting) {
    String[] parts = arn.split(":", 6);
    if (parts.length == 6 && "kms".equals(parts[2]) && clientRegion != null) {
      String keyRegion = parts[3];
      if (!keyRegion.equals(clientRegion.id())) {
        throw new PanopsCryptoStartupException(
            setting
                + " names a CMK in region "
                + keyRegion
                + ", but the KmsClient is for "
                + clientRegion.id()
                + ": every call for it would fail, and read as the customer's revocation.",
            "Set panops.crypto.kms.region="
                + keyRegion
                + " (or build the KmsClient bean for that region); tenants whose keys are in"
                + " several regions need a PanopsCrypto bean of your own with a KmsClientFactory;"
                + " "
                + OPT_OUT
                + " skips this check.",
            null);
      }
    }
  }

  /**
   * One bounded DescribeKey over HTTPS. A key KMS does not know fails the start; a refusal or an
   * unreachable KMS is logged and the start goes on.
   */
  private static Described describe(
      KmsClient kms, Region clientRegion, String arn, String setting, boolean allowLocalHttp) {
    try {
      HttpsOnly https = new HttpsOnly(allowLocalHttp);
      DescribeKeyResponse r =
          kms.describeKey(
              b ->
                  b.keyId(arn)
                      .overrideConfiguration(
                          o ->
                              o.addPlugin(https)
                                  .apiCallTimeout(CALL_TIMEOUT)
                                  .apiCallAttemptTimeout(ATTEMPT_TIMEOUT)));
      return new Described(r.keyMetadata(), true);
    } catch (NotFoundException e) {
      throw unknownKey(clientRegion, setting, e);
    } catch (KmsException e) {
      String code =
          e.awsErrorDetails() == null ? "HTTP" + e.statusCode() : e.awsErrorDetails().errorCode();
      log.warn(
          "{}: KMS refused DescribeKey of {} ({}): if the customer has revoked the vendor's"
              + " access, the key reads as revoked on first use; starting",
          setting,
          arn,
          code);
      return new Described(null, true);
    } catch (SdkException e) {
      // the SDK's message (no credentials in it): a missing or misspelt profile says so here
      log.warn(
          "{}: KMS could not be reached to describe {}: {}; starting (every call fails closed"
              + " until KMS answers)",
          setting,
          arn,
          e.getMessage());
      return new Described(null, false);
    } catch (RuntimeException e) {
      // a KmsClient of the application's own making that cannot describe keys (a test double)
      log.warn(
          "{}: the KmsClient could not describe {} ({}); starting",
          setting,
          arn,
          e.getClass().getSimpleName());
      return new Described(null, false);
    }
  }

  private static PanopsCryptoStartupException unknownKey(
      Region clientRegion, String setting, NotFoundException e) {
    return new PanopsCryptoStartupException(
        setting
            + " names a CMK that KMS"
            + (clientRegion == null ? "" : " in " + clientRegion.id())
            + " does not know (NotFoundException): a wrong key ARN or region, or a key the"
            + " customer has deleted. This is not read as a revocation at start-up.",
        "Correct the ARN (or panops.crypto.kms.region); if the customer deleted the key, remove"
            + " the tenant's entry (its data can no longer be decrypted by anyone); "
            + OPT_OUT
            + " skips this check.",
        e);
  }

  /** GenerateDataKey and Decrypt need a symmetric encryption key: anything else fails the start. */
  private static void requireSymmetricEncryptionKey(KeyMetadata m, String setting) {
    if ((m.keyUsage() != null && m.keyUsage() != KeyUsageType.ENCRYPT_DECRYPT)
        || (m.keySpec() != null && m.keySpec() != KeySpec.SYMMETRIC_DEFAULT)) {
      throw new PanopsCryptoStartupException(
          setting
              + " names a CMK that is not a symmetric encryption key (KeySpec "
              + m.keySpecAsString()
              + ", KeyUsage "
              + m.keyUsageAsString()
              + "): GenerateDataKey and Decrypt need SYMMETRIC_DEFAULT and ENCRYPT_DECRYPT.",
          "Name the tenant's symmetric encryption CMK; " + OPT_OUT + " skips this check.",
          null);
    }
  }

  /** A disabled or deleted key is the customer's kill switch: logged, and the start goes on. */
  private static void warnIfNotEnabled(KeyMetadata m, String arn, String setting) {
    if (m.keyState() != KeyState.ENABLED) {
      log.warn(
          "{}: CMK {} is {}: the customer's kill switch; it reads as revoked on first use, and"
              + " other tenants are served",
          setting,
          arn,
          m.keyStateAsString());
    }
  }
}
