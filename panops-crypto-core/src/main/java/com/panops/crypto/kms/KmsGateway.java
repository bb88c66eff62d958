package com.panops.crypto.kms;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.AuditSink;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.observe.GuardedMetrics;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.awscore.AwsResponse;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.EncryptRequest;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KmsRequest;
import software.amazon.awssdk.services.kms.model.ReEncryptRequest;
import software.amazon.awssdk.services.kms.model.ReEncryptResponse;

/**
 * The one place this library calls KMS. Every request is checked against {@link KmsAllowList};
 * {@code Decrypt} always names its key; every answer is checked (the key id it reports and the
 * plaintext length); every attempt the SDK sends, successful or not, yields one {@link AuditEvent}
 * (see {@link CallAttempts}), and every call one metric. Failures are classified into a {@link
 * RevocationReason} and thrown as {@link KmsCallException}.
 *
 * <p>Thread-safe (the SDK client is). Internal: not part of the public API.
 */
public final class KmsGateway {

  /** Picks the KMS client for a key ARN. */
  @FunctionalInterface
  public interface ClientResolver {
    KmsClient clientFor(String keyArn);
  }

  private final ClientResolver clients;
  private final AuditSink audit;
  private final CryptoMetrics metrics;
  private final Clock clock;
  private final boolean allowLocalHttp;

  /**
   * @param allowLocalHttp accept plain HTTP to a literal loopback address, and clients that do not
   *     send requests through the SDK's HTTP pipeline (in-process fakes); for tests only
   */
  public KmsGateway(
      ClientResolver clients,
      AuditSink audit,
      CryptoMetrics metrics,
      Clock clock,
      boolean allowLocalHttp) {
    this.clients = clients;
    this.audit = audit;
    this.metrics = GuardedMetrics.of(metrics);
    this.clock = clock;
    this.allowLocalHttp = allowLocalHttp;
  }

  /** Result of {@code GenerateDataKey}: the caller owns and must wipe {@code plaintext}. */
  public record DataKey(byte[] plaintext, byte[] encrypted) {
    void wipe() {
      KmsGateway.wipe(plaintext);
    }

    @Override
    public String toString() {
      return "DataKey[redacted]";
    }
  }

  /** {@code GenerateDataKey} (AES_256) under {@code keyArn}. */
  public DataKey generateDataKey(
      String tenant, String keyArn, Map<String, String> context, String purpose) {
    return call(
        "GenerateDataKey",
        purpose,
        tenant,
        keyArn,
        context,
        null,
        transport ->
            GenerateDataKeyRequest.builder()
                .keyId(keyArn)
                .keySpec(DataKeySpec.AES_256)
                .encryptionContext(context)
                .overrideConfiguration(transport)
                .build(),
        r -> clients.clientFor(keyArn).generateDataKey(r),
        (GenerateDataKeyResponse resp) -> {
          byte[] pt = bytes(resp.plaintext());
          if (!keyArn.equals(resp.keyId()) || pt == null || pt.length != 32) {
            wipe(pt);
            return null;
          }
          byte[] edk = bytes(resp.ciphertextBlob());
          if (edk == null || edk.length == 0) {
            wipe(pt);
            return null;
          }
          return new DataKey(pt, edk);
        },
        DataKey::wipe);
  }

  /**
   * {@code Decrypt} naming {@code keyArn}; checks the key id answered and that the plaintext is
   * {@code expectedLength} bytes. The caller owns and must wipe the result. A plaintext of another
   * length is a failure about this one ciphertext ({@link RevocationReason#INVALID_CIPHERTEXT},
   * code {@code PlaintextLengthMismatch}): KMS decrypted a blob that is not one of our data keys.
   *
   * @param timeout bound of the whole call (all SDK attempts), or {@code null} for the client's own
   */
  public byte[] decrypt(
      String tenant,
      String keyArn,
      byte[] ciphertext,
      Map<String, String> context,
      int expectedLength,
      String purpose,
      Duration timeout) {
    return call(
        "Decrypt",
        purpose,
        tenant,
        keyArn,
        context,
        timeout,
        transport ->
            DecryptRequest.builder()
                .keyId(keyArn)
                .ciphertextBlob(SdkBytes.fromByteArray(ciphertext))
                .encryptionContext(context)
                .overrideConfiguration(transport)
                .build(),
        r -> clients.clientFor(keyArn).decrypt(r),
        (DecryptResponse resp) -> {
          byte[] pt = bytes(resp.plaintext());
          if (!keyArn.equals(resp.keyId()) || pt == null) {
            wipe(pt);
            return null;
          }
          if (pt.length != expectedLength) {
            wipe(pt);
            throw new BadAnswer(RevocationReason.INVALID_CIPHERTEXT, "PlaintextLengthMismatch");
          }
          return pt;
        },
        KmsGateway::wipe);
  }

  /**
   * {@code Encrypt} of a small plaintext (the liveness canary) under {@code keyArn}.
   *
   * @param timeout bound of the whole call (all SDK attempts), or {@code null} for the client's own
   */
  public byte[] encrypt(
      String tenant,
      String keyArn,
      byte[] plaintext,
      Map<String, String> context,
      String purpose,
      Duration timeout) {
    return call(
        "Encrypt",
        purpose,
        tenant,
        keyArn,
        context,
        timeout,
        transport ->
            EncryptRequest.builder()
                .keyId(keyArn)
                .plaintext(SdkBytes.fromByteArray(plaintext))
                .encryptionContext(context)
                .overrideConfiguration(transport)
                .build(),
        r -> clients.clientFor(keyArn).encrypt(r),
        (EncryptResponse resp) -> {
          byte[] ct = bytes(resp.ciphertextBlob());
          return keyArn.equals(resp.keyId()) && ct != null && ct.length > 0 ? ct : null;
        },
        ct -> {});
  }

  /**
   * {@code ReEncrypt} of an encrypted data key from {@code sourceArn} to {@code destinationArn},
   * same encryption context: the data key never leaves KMS.
   */
  public byte[] reEncrypt(
      String tenant,
      String sourceArn,
      String destinationArn,
      byte[] ciphertext,
      Map<String, String> context,
      String purpose) {
    return call(
        "ReEncrypt",
        purpose,
        tenant,
        destinationArn,
        context,
        null,
        transport ->
            ReEncryptRequest.builder()
                .sourceKeyId(sourceArn)
                .destinationKeyId(destinationArn)
                .ciphertextBlob(SdkBytes.fromByteArray(ciphertext))
                .sourceEncryptionContext(context)
                .destinationEncryptionContext(context)
                .overrideConfiguration(transport)
                .build(),
        r -> clients.clientFor(destinationArn).reEncrypt(r),
        (ReEncryptResponse resp) -> {
          byte[] ct = bytes(resp.ciphertextBlob());
          return destinationArn.equals(resp.keyId())
                  && sourceArn.equals(resp.sourceKeyId())
                  && ct != null
                  && ct.length > 0
              ? ct
              : null;
        },
        ct -> {});
  }

  /** An answer that did not check out, with the reason it counts as. */
  private static final class BadAnswer extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final RevocationReason reason;
    final String code;

    BadAnswer(RevocationReason reason, String code) {
      super(code, null, false, false);
      this.reason = reason;
      this.code = code;
    }
  }

  /**
   * One KMS call: the request that {@code request} builds with the given transport configuration
   * (this call's {@link TransportCheck}, and {@code timeout} if not null), checked against the
   * allow list, sent, its answer verified ({@code verify} returns null for an answer that does not
   * check out), audited and counted.
   */
  private <Q extends KmsRequest, R extends AwsResponse, T> T call(
      String operation,
      String purpose,
      String tenant,
      String keyArn,
      Map<String, String> context,
      Duration timeout,
      Function<Consumer<AwsRequestOverrideConfiguration.Builder>, Q> request,
      Function<Q, R> send,
      Function<R, T> verify,
      Consumer<T> discard) {
    TransportCheck check = new TransportCheck(allowLocalHttp, clock);
    Q req = request.apply(o -> check.apply(o, timeout, purpose));
    KmsAllowList.check(req);
    Outcome o =
        new Outcome(
            audit, metrics, operation, purpose, tenant, keyArn, context, check, clock.instant());
    R resp;
    try {
      resp = send.apply(req);
    } catch (RuntimeException e) {
      if (check.refused != null) {
        o.end(false, "InsecureTransport", null, false);
        throw check.refusal();
      }
      String code = KmsFailures.errorCode(e);
      String requestId =
          e instanceof AwsServiceException ? ((AwsServiceException) e).requestId() : null;
      o.end(false, code, requestId, e instanceof AwsServiceException);
      throw new KmsCallException(
          KmsFailures.classify(e),
          code,
          "KMS " + operation + " failed: " + code,
          e,
          KmsFailures.interrupted(e));
    }
    String requestId = resp.responseMetadata() == null ? null : resp.responseMetadata().requestId();
    T result;
    try {
      result = verify.apply(resp);
    } catch (BadAnswer bad) {
      o.end(false, bad.code, requestId, true);
      throw new KmsCallException(
          bad.reason, bad.code, "KMS " + operation + " answered: " + bad.code, null);
    }
    if (result == null) {
      o.end(false, "ResponseCheckFailed", requestId, true);
      throw new KmsCallException(
          RevocationReason.BAD_RESPONSE,
          "ResponseCheckFailed",
          "KMS " + operation + " answered for another key or with a malformed answer",
          null);
    }
    return accepted(o, check, requestId, result, discard);
  }

  /**
   * The last check of an answer: it must have come through the SDK's HTTP pipeline with the
   * transport check, unless a local test double is allowed.
   */
  private <T> T accepted(
      Outcome o, TransportCheck check, String requestId, T result, Consumer<T> discard) {
    if (!check.transmitted && !allowLocalHttp) {
      // The client answered without sending the request through the SDK's HTTP pipeline with our
      // check (a wrapper or an in-process fake): its transport cannot be verified. Fail closed.
      discard.accept(result);
      o.end(false, "UncheckedTransport", requestId, true);
      throw new IllegalStateException(
          "the KMS client answered without sending its request through the AWS SDK's HTTP"
              + " pipeline, so HTTPS could not be verified; use an SDK-built KmsClient, or"
              + " allowInsecureLocalKmsEndpoint() for an in-process test double");
    }
    o.end(true, null, requestId, true);
    return result;
  }

  private static byte[] bytes(SdkBytes b) {
    return b == null ? null : b.asByteArray();
  }

  /** Zeroes {@code b} if not null. */
  public static void wipe(byte[] b) {
    if (b != null) {
      Arrays.fill(b, (byte) 0);
    }
  }

  /** Constant-time equality. */
  public static boolean equal(byte[] a, byte[] b) {
    return MessageDigest.isEqual(a, b);
  }
}
