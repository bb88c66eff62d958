package com.panops.crypto.kms;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.AuditSink;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.metrics.CryptoMetrics;
import java.net.URI;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;
import java.util.function.Function;
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
    this.metrics = com.panops.crypto.metrics.GuardedMetrics.of(metrics);
    this.clock = clock;
    this.allowLocalHttp = allowLocalHttp;
  }

  /**
   * Early feedback at build time: refuses a client whose endpoint override is not HTTPS, unless
   * {@code allowLocalHttp} and the endpoint is a literal loopback address. This is not what
   * enforces HTTPS (a client can pick its endpoint in other ways, such as an endpoint provider):
   * every request is checked as it is sent, see {@link TransportCheck}.
   *
   * @throws IllegalArgumentException if the endpoint is not acceptable
   */
  public static void checkEndpoint(KmsClient client, boolean allowLocalHttp) {
    URI endpoint;
    try {
      endpoint = client.serviceClientConfiguration().endpointOverride().orElse(null);
    } catch (UnsupportedOperationException e) {
      return; // a client of the caller's own (a fake, a wrapper): checked per request instead
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
    String proxy = LocalHttpProxies.inTheWay(endpoint);
    if (proxy != null) {
      throw new IllegalArgumentException(
          "KMS endpoint " + endpoint + " is plain HTTP, and " + proxy + LocalHttpProxies.ADVICE);
    }
  }

  /**
   * The proxy setting that could carry a plain-HTTP request to {@code endpoint} through a proxy
   * that is not a literal loopback address (described by the setting's name and the proxy's host,
   * never its credentials), or {@code null}. For the S3 adapter's plain-HTTP opt-in.
   */
  public static String localHttpProxy(URI endpoint) {
    return LocalHttpProxies.inTheWay(endpoint);
  }

  /**
   * Whether {@code host} is a literal loopback address: an IPv4 address in 127.0.0.0/8 written as
   * four decimal octets, or the IPv6 address {@code ::1} (in any of its spellings, with or without
   * brackets). Never a name, not even {@code localhost}: nothing here looks anything up, and a name
   * can resolve elsewhere. The one place the library decides what counts as a local test endpoint
   * (KMS, and the S3 adapter).
   */
  public static boolean isLoopback(String host) {
    if (host == null || host.isEmpty()) {
      return false;
    }
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (h.indexOf(':') >= 0) {
      return isIpv6Loopback(h);
    }
    String[] parts = h.split("\\.", -1);
    if (parts.length != 4) {
      return false;
    }
    for (int i = 0; i < 4; i++) {
      String p = parts[i];
      if (p.isEmpty() || p.length() > 3) {
        return false;
      }
      for (int j = 0; j < p.length(); j++) {
        char c = p.charAt(j);
        if (c < '0' || c > '9') {
          return false;
        }
      }
      int v = Integer.parseInt(p);
      if (v > 255 || (i == 0 && v != 127)) {
        return false;
      }
    }
    return true;
  }

  private static boolean isIpv6Loopback(String h) {
    // Only hex digits and colons (no zone id, no embedded IPv4): parse the groups by hand.
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      boolean hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':') {
        return false;
      }
    }
    int gap = h.indexOf("::");
    if (gap >= 0 && h.indexOf("::", gap + 1) >= 0) {
      return false;
    }
    String[] head = gap >= 0 ? splitGroups(h.substring(0, gap)) : splitGroups(h);
    String[] tail = gap >= 0 ? splitGroups(h.substring(gap + 2)) : new String[0];
    if (head == null || tail == null) {
      return false;
    }
    int groups = head.length + tail.length;
    if ((gap < 0 && groups != 8) || (gap >= 0 && groups > 7)) {
      return false;
    }
    long[] value = new long[8];
    for (int i = 0; i < head.length; i++) {
      value[i] = Long.parseLong(head[i], 16);
    }
    for (int i = 0; i < tail.length; i++) {
      value[8 - tail.length + i] = Long.parseLong(tail[i], 16);
    }
    for (int i = 0; i < 7; i++) {
      if (value[i] != 0) {
        return false;
      }
    }
    return value[7] == 1;
  }

  private static String[] splitGroups(String s) {
    if (s.isEmpty()) {
      return new String[0];
    }
    String[] g = s.split(":", -1);
    for (String x : g) {
      if (x.isEmpty() || x.length() > 4) {
        return null;
      }
    }
    return g;
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
    TransportCheck check = new TransportCheck(allowLocalHttp, clock);
    GenerateDataKeyRequest req =
        GenerateDataKeyRequest.builder()
            .keyId(keyArn)
            .keySpec(DataKeySpec.AES_256)
            .encryptionContext(context)
            .overrideConfiguration(o -> check.apply(o, null))
            .build();
    return call(
        "GenerateDataKey",
        purpose,
        tenant,
        keyArn,
        context,
        req,
        check,
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
    TransportCheck check = new TransportCheck(allowLocalHttp, clock);
    DecryptRequest req =
        DecryptRequest.builder()
            .keyId(keyArn)
            .ciphertextBlob(SdkBytes.fromByteArray(ciphertext))
            .encryptionContext(context)
            .overrideConfiguration(o -> check.apply(o, timeout))
            .build();
    return call(
        "Decrypt",
        purpose,
        tenant,
        keyArn,
        context,
        req,
        check,
        r -> clients.clientFor(keyArn).decrypt((DecryptRequest) r),
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
    TransportCheck check = new TransportCheck(allowLocalHttp, clock);
    EncryptRequest req =
        EncryptRequest.builder()
            .keyId(keyArn)
            .plaintext(SdkBytes.fromByteArray(plaintext))
            .encryptionContext(context)
            .overrideConfiguration(o -> check.apply(o, timeout))
            .build();
    return call(
        "Encrypt",
        purpose,
        tenant,
        keyArn,
        context,
        req,
        check,
        r -> clients.clientFor(keyArn).encrypt((EncryptRequest) r),
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
    TransportCheck check = new TransportCheck(allowLocalHttp, clock);
    ReEncryptRequest req =
        ReEncryptRequest.builder()
            .sourceKeyId(sourceArn)
            .destinationKeyId(destinationArn)
            .ciphertextBlob(SdkBytes.fromByteArray(ciphertext))
            .sourceEncryptionContext(context)
            .destinationEncryptionContext(context)
            .overrideConfiguration(o -> check.apply(o, null))
            .build();
    return call(
        "ReEncrypt",
        purpose,
        tenant,
        destinationArn,
        context,
        req,
        check,
        r -> clients.clientFor(destinationArn).reEncrypt((ReEncryptRequest) r),
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

  private <R extends AwsResponse, T> T call(
      String operation,
      String purpose,
      String tenant,
      String keyArn,
      Map<String, String> context,
      KmsRequest request,
      TransportCheck check,
      Function<KmsRequest, R> send,
      Function<R, T> verify,
      java.util.function.Consumer<T> discard) {
    KmsAllowList.check(request);
    Outcome o = new Outcome(operation, purpose, tenant, keyArn, context, check, clock.instant());
    R resp;
    try {
      resp = send.apply(request);
    } catch (RuntimeException e) {
      if (check.refused != null) {
        o.end(false, "InsecureTransport", null, false);
        throw check.refusal();
      }
      String code = errorCode(e);
      String requestId =
          e instanceof AwsServiceException ? ((AwsServiceException) e).requestId() : null;
      o.end(false, code, requestId, e instanceof AwsServiceException);
      throw new KmsCallException(
          classify(e), code, "KMS " + operation + " failed: " + code, e, interrupted(e));
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

  /** One call's bookkeeping: at its end, one metric and one audit event per attempt. */
  private final class Outcome {
    final String operation;
    final String purpose;
    final String tenant;
    final String keyArn;
    final Map<String, String> context;
    final TransportCheck check;
    final Instant start;
    final long t0 = System.nanoTime();

    Outcome(
        String operation,
        String purpose,
        String tenant,
        String keyArn,
        Map<String, String> context,
        TransportCheck check,
        Instant start) {
      this.operation = operation;
      this.purpose = purpose;
      this.tenant = tenant;
      this.keyArn = keyArn;
      this.context = context;
      this.check = check;
      this.start = start;
    }

    /**
     * @param answered whether the caller got an answer from KMS (a response or a KMS error)
     */
    void end(boolean success, String code, String requestId, boolean answered) {
      long now = System.nanoTime();
      metrics.kmsCall(operation, purpose, success, Duration.ofNanos(now - t0));
      CallAttempts calls = check.attempts;
      java.util.List<CallAttempts.Attempt> attempts = calls.attempts();
      if (attempts.isEmpty()) {
        // nothing transmitted through the SDK pipeline (refused before sending, a failure before
        // the first attempt, an in-process client): one event for the call
        record(
            success,
            code,
            requestId,
            Duration.ofNanos(now - t0),
            start,
            1,
            true,
            answered && !"InsecureTransport".equals(code),
            calls.callId);
        return;
      }
      for (CallAttempts.Attempt a : attempts) {
        boolean last = a == attempts.get(attempts.size() - 1);
        long end = last || a.endNanos == 0 ? now : a.endNanos;
        if (last) {
          String id = a.requestId != null ? a.requestId : requestId;
          // a KMS error answer stays this attempt's code even if the call then failed on the
          // client side (a call timeout during the back-off before a retry)
          String c = !success && a.responded && a.errorCode != null ? a.errorCode : code;
          record(
              success,
              c,
              id,
              Duration.ofNanos(end - a.startNanos),
              a.start,
              a.number,
              true,
              a.responded,
              calls.callId);
        } else {
          String c =
              !a.responded ? "NoResponse" : a.errorCode != null ? a.errorCode : "HTTP" + a.status;
          record(
              false,
              c,
              a.requestId,
              Duration.ofNanos(end - a.startNanos),
              a.start,
              a.number,
              false,
              a.responded,
              calls.callId);
        }
      }
    }

    private void record(
        boolean success,
        String code,
        String requestId,
        Duration latency,
        Instant time,
        int attempt,
        boolean last,
        boolean responded,
        String callId) {
      try {
        audit.record(
            new AuditEvent(
                operation, purpose, tenant, keyArn, context, success, code, requestId, latency,
                time, attempt, last, responded, callId));
      } catch (Throwable e) {
        com.panops.crypto.metrics.GuardedMetrics.swallow(e, "audit sink");
      }
    }
  }

  /**
   * Whether a failed call was abandoned because this thread was interrupted (the SDK throws {@code
   * AbortedException}, or an I/O call saw the interrupt): not an answer from KMS. An answer from
   * KMS anywhere in the cause chain ({@link AwsServiceException}) always counts as an answer,
   * whatever the thread's interrupt flag says: a {@code Future.cancel(true)} that races KMS's
   * {@code DisabledException} must not turn it into "KMS said nothing". The flag itself is left as
   * it is, for the caller to see.
   */
  static boolean interrupted(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof AwsServiceException) {
        return false;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    if (Thread.currentThread().isInterrupted()) {
      return true;
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof software.amazon.awssdk.core.exception.AbortedException
          || t instanceof InterruptedException
          || t instanceof java.io.InterruptedIOException
              && !(t instanceof java.net.SocketTimeoutException)) {
        return true;
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
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
      return invalidState((KmsInvalidStateException) e);
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
      if ("KeyUnavailableException".equals(code)) {
        return RevocationReason.KEY_UNAVAILABLE;
      }
      if ("DependencyTimeoutException".equals(code)) {
        return RevocationReason.DEPENDENCY_TIMEOUT;
      }
      if (ase.statusCode() >= 500 || "KMSInternalException".equals(code)) {
        return RevocationReason.UNAVAILABLE;
      }
      return RevocationReason.OTHER;
    }
    if (e instanceof SdkException) {
      return RevocationReason.UNAVAILABLE; // I/O error, timeout, dropped connection
    }
    return RevocationReason.OTHER;
  }

  /**
   * Which key state a {@code KMSInvalidStateException} reports. KMS has one error for every state
   * that forbids the operation and names the state only in its message ({@code "<key ARN> is
   * pending deletion."}, {@code "... is pending import."}, {@code "... is unavailable."}); a
   * message not recognised is {@link RevocationReason#INVALID_STATE}, which latches all the same.
   */
  static RevocationReason invalidState(KmsInvalidStateException e) {
    String m =
        e.awsErrorDetails() != null && e.awsErrorDetails().errorMessage() != null
            ? e.awsErrorDetails().errorMessage()
            : String.valueOf(e.getMessage());
    String s = m.toLowerCase(java.util.Locale.ROOT).replace(" ", "");
    if (s.contains("pendingdeletion")) {
      return RevocationReason.PENDING_DELETION;
    }
    if (s.contains("pendingimport")) {
      return RevocationReason.PENDING_IMPORT;
    }
    if (s.contains("isunavailable") || s.contains("keystateunavailable")) {
      return RevocationReason.KEY_STORE_UNAVAILABLE;
    }
    return RevocationReason.INVALID_STATE;
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
