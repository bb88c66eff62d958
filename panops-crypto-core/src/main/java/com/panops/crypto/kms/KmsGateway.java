package com.panops.crypto.kms;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.AuditSink;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.metrics.CryptoMetrics;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.AwsResponse;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.DisabledException;
import software.amazon.awssdk.services.kms.model.EncryptRequest;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.IncorrectKeyException;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.KmsInvalidStateException;
import software.amazon.awssdk.services.kms.model.KmsRequest;
import software.amazon.awssdk.services.kms.model.NotFoundException;
import software.amazon.awssdk.services.kms.model.ReEncryptRequest;
import software.amazon.awssdk.services.kms.model.ReEncryptResponse;

/**
 * The one place this library calls KMS. Every request is checked against {@link KmsAllowList};
 * {@code Decrypt} always names its key; every answer is checked (the key id it reports and the
 * plaintext length); every call, successful or not, yields one {@link AuditEvent} and a metric.
 * Failures are classified into a {@link RevocationReason} and thrown as {@link KmsCallException}.
 *
 * <p>Thread-safe (the SDK client is). Internal: not part of the public API.
 */
public final class KmsGateway {
  private static final Logger LOG = LoggerFactory.getLogger(KmsGateway.class);

  /** Picks the KMS client for a key ARN. */
  @FunctionalInterface
  public interface ClientResolver {
    KmsClient clientFor(String keyArn);
  }

  private final ClientResolver clients;
  private final AuditSink audit;
  private final CryptoMetrics metrics;
  private final Clock clock;

  public KmsGateway(ClientResolver clients, AuditSink audit, CryptoMetrics metrics, Clock clock) {
    this.clients = clients;
    this.audit = audit;
    this.metrics = metrics;
    this.clock = clock;
  }

  /**
   * Refuses a client whose endpoint override is not HTTPS, unless {@code allowLocalHttp} and the
   * endpoint is a loopback address.
   *
   * @throws IllegalArgumentException if the endpoint is not acceptable
   */
  public static void checkEndpoint(KmsClient client, boolean allowLocalHttp) {
    URI endpoint;
    try {
      endpoint = client.serviceClientConfiguration().endpointOverride().orElse(null);
    } catch (UnsupportedOperationException e) {
      return; // a client implementation of the caller's own (a fake, a wrapper): its business
    }
    if (endpoint == null || "https".equalsIgnoreCase(endpoint.getScheme())) {
      return;
    }
    if (!allowLocalHttp) {
      throw new IllegalArgumentException(
          "KMS endpoint "
              + endpoint
              + " is not HTTPS; only a local test endpoint may be plain HTTP, and the builder must"
              + " be told so with allowInsecureLocalKmsEndpoint()");
    }
    if (!isLoopback(endpoint.getHost())) {
      throw new IllegalArgumentException(
          "KMS endpoint " + endpoint + " is plain HTTP and not a loopback address");
    }
  }

  /**
   * Whether {@code host} is {@code localhost} or a literal loopback address (no DNS look-up): the
   * one place the library decides what counts as a local test endpoint (KMS, and the S3 adapter).
   */
  public static boolean isLoopback(String host) {
    if (host == null) {
      return false;
    }
    if (host.equalsIgnoreCase("localhost")) {
      return true;
    }
    String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
    if (!h.matches("[0-9.]+|[0-9a-fA-F:]+")) {
      return false; // only literal addresses: no DNS look-up here
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** Result of {@code GenerateDataKey}: the caller owns and must wipe {@code plaintext}. */
  public record DataKey(byte[] plaintext, byte[] encrypted) {
    @Override
    public String toString() {
      return "DataKey[redacted]";
    }
  }

  /** {@code GenerateDataKey} (AES_256) under {@code keyArn}. */
  public DataKey generateDataKey(
      String tenant, String keyArn, Map<String, String> context, String purpose) {
    GenerateDataKeyRequest req =
        GenerateDataKeyRequest.builder()
            .keyId(keyArn)
            .keySpec(DataKeySpec.AES_256)
            .encryptionContext(context)
            .build();
    return call(
        "GenerateDataKey",
        purpose,
        tenant,
        keyArn,
        context,
        req,
        r -> clients.clientFor(keyArn).generateDataKey((GenerateDataKeyRequest) r),
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
        });
  }

  /**
   * {@code Decrypt} naming {@code keyArn}; checks the key id answered and that the plaintext is
   * {@code expectedLength} bytes. The caller owns and must wipe the result.
   */
  public byte[] decrypt(
      String tenant,
      String keyArn,
      byte[] ciphertext,
      Map<String, String> context,
      int expectedLength,
      String purpose) {
    DecryptRequest req =
        DecryptRequest.builder()
            .keyId(keyArn)
            .ciphertextBlob(SdkBytes.fromByteArray(ciphertext))
            .encryptionContext(context)
            .build();
    return call(
        "Decrypt",
        purpose,
        tenant,
        keyArn,
        context,
        req,
        r -> clients.clientFor(keyArn).decrypt((DecryptRequest) r),
        (DecryptResponse resp) -> {
          byte[] pt = bytes(resp.plaintext());
          if (!keyArn.equals(resp.keyId()) || pt == null || pt.length != expectedLength) {
            wipe(pt);
            return null;
          }
          return pt;
        });
  }

  /** {@code Encrypt} of a small plaintext (the liveness canary) under {@code keyArn}. */
  public byte[] encrypt(
      String tenant, String keyArn, byte[] plaintext, Map<String, String> context, String purpose) {
    EncryptRequest req =
        EncryptRequest.builder()
            .keyId(keyArn)
            .plaintext(SdkBytes.fromByteArray(plaintext))
            .encryptionContext(context)
            .build();
    return call(
        "Encrypt",
        purpose,
        tenant,
        keyArn,
        context,
        req,
        r -> clients.clientFor(keyArn).encrypt((EncryptRequest) r),
        (EncryptResponse resp) -> {
          byte[] ct = bytes(resp.ciphertextBlob());
          return keyArn.equals(resp.keyId()) && ct != null && ct.length > 0 ? ct : null;
        });
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
    ReEncryptRequest req =
        ReEncryptRequest.builder()
            .sourceKeyId(sourceArn)
            .destinationKeyId(destinationArn)
            .ciphertextBlob(SdkBytes.fromByteArray(ciphertext))
            .sourceEncryptionContext(context)
            .destinationEncryptionContext(context)
            .build();
    return call(
        "ReEncrypt",
        purpose,
        tenant,
        destinationArn,
        context,
        req,
        r -> clients.clientFor(destinationArn).reEncrypt((ReEncryptRequest) r),
        (ReEncryptResponse resp) -> {
          byte[] ct = bytes(resp.ciphertextBlob());
          return destinationArn.equals(resp.keyId())
                  && sourceArn.equals(resp.sourceKeyId())
                  && ct != null
                  && ct.length > 0
              ? ct
              : null;
        });
  }

  private <R extends AwsResponse, T> T call(
      String operation,
      String purpose,
      String tenant,
      String keyArn,
      Map<String, String> context,
      KmsRequest request,
      Function<KmsRequest, R> send,
      Function<R, T> check) {
    KmsAllowList.check(request);
    Instant start = clock.instant();
    long t0 = System.nanoTime();
    R resp;
    try {
      resp = send.apply(request);
    } catch (RuntimeException e) {
      Duration latency = Duration.ofNanos(System.nanoTime() - t0);
      String code = errorCode(e);
      String requestId =
          e instanceof AwsServiceException ? ((AwsServiceException) e).requestId() : null;
      emit(operation, purpose, tenant, keyArn, context, false, code, requestId, latency, start);
      throw new KmsCallException(classify(e), code, "KMS " + operation + " failed: " + code, e);
    }
    Duration latency = Duration.ofNanos(System.nanoTime() - t0);
    String requestId = resp.responseMetadata() == null ? null : resp.responseMetadata().requestId();
    T result = check.apply(resp);
    if (result == null) {
      emit(
          operation,
          purpose,
          tenant,
          keyArn,
          context,
          false,
          "ResponseCheckFailed",
          requestId,
          latency,
          start);
      throw new KmsCallException(
          RevocationReason.BAD_RESPONSE,
          "ResponseCheckFailed",
          "KMS " + operation + " answered for another key or with a wrong plaintext length",
          null);
    }
    emit(operation, purpose, tenant, keyArn, context, true, null, requestId, latency, start);
    return result;
  }

  private void emit(
      String operation,
      String purpose,
      String tenant,
      String keyArn,
      Map<String, String> context,
      boolean success,
      String code,
      String requestId,
      Duration latency,
      Instant start) {
    metrics.kmsCall(operation, purpose, success, latency);
    try {
      audit.record(
          new AuditEvent(
              operation, purpose, tenant, keyArn, context, success, code, requestId, latency,
              start));
    } catch (RuntimeException e) {
      LOG.warn("audit sink failed: {}", e.getClass().getName());
    }
  }

  static String errorCode(Throwable e) {
    if (e instanceof AwsServiceException) {
      AwsServiceException ase = (AwsServiceException) e;
      if (ase.awsErrorDetails() != null && ase.awsErrorDetails().errorCode() != null) {
        return ase.awsErrorDetails().errorCode();
      }
      return "HTTP" + ase.statusCode();
    }
    return e.getClass().getSimpleName();
  }

  /** Maps a failed call to the reason a key is latched for. */
  public static RevocationReason classify(Throwable e) {
    if (e instanceof DisabledException) {
      return RevocationReason.DISABLED;
    }
    if (e instanceof KmsInvalidStateException) {
      return RevocationReason.PENDING_DELETION;
    }
    if (e instanceof NotFoundException) {
      return RevocationReason.NOT_FOUND;
    }
    if (e instanceof InvalidCiphertextException) {
      return RevocationReason.INVALID_CIPHERTEXT;
    }
    if (e instanceof IncorrectKeyException) {
      return RevocationReason.INCORRECT_KEY;
    }
    if (e instanceof AwsServiceException) {
      AwsServiceException ase = (AwsServiceException) e;
      String code = errorCode(e);
      if ("AccessDeniedException".equals(code) || "AccessDenied".equals(code)) {
        return RevocationReason.ACCESS_DENIED;
      }
      if (ase.isThrottlingException() || "ThrottlingException".equals(code)) {
        return RevocationReason.THROTTLED;
      }
      if (ase.statusCode() >= 500
          || "KMSInternalException".equals(code)
          || "KeyUnavailableException".equals(code)
          || "DependencyTimeoutException".equals(code)) {
        return RevocationReason.UNAVAILABLE;
      }
      return RevocationReason.OTHER;
    }
    if (e instanceof SdkException) {
      return RevocationReason.UNAVAILABLE; // I/O error, timeout, dropped connection
    }
    return RevocationReason.OTHER;
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
