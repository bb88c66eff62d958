package com.panops.crypto;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * One KMS request attempt made by this library, mirroring the record the customer's CloudTrail
 * gets: the operation, the key, the encryption context sent, the outcome, KMS's error code and
 * request id (which matches CloudTrail's {@code requestID}), the latency and the time. Never holds
 * key material or plaintext.
 *
 * <p><b>One event per attempt.</b> With the SDK's retries one library call can be several KMS
 * requests, and so several CloudTrail records; each attempt the SDK sends yields one event, in
 * order, all with the same {@link #callId()} (which is also sent in every attempt's {@code
 * User-Agent} as {@code panops-call/<callId>}, next to {@code panops-purpose/<purpose>}, and
 * CloudTrail records the user agent: a customer's trail tells probes from data-key calls). Only the
 * last attempt ({@link #lastAttempt()}) carries the call's outcome; earlier attempts failed (the
 * SDK retried them). An attempt whose response never arrived ({@link #responseReceived()} false: a
 * reset connection, a timeout) has no request id, and KMS may have done it: its CloudTrail record,
 * if any, can be a success. Match those by call id (user agent), operation, key and context.
 *
 * @param operation the KMS operation ({@code GenerateDataKey}, {@code Decrypt}, {@code Encrypt},
 *     {@code ReEncrypt}, {@code DescribeKey})
 * @param purpose why the library called: {@code data-key}, {@code probe}, {@code canary}, {@code
 *     re-wrap}, {@code describe}
 * @param tenantId the tenant on whose behalf the call was made, or {@code null} for a probe of a
 *     key shared by tenants
 * @param keyArn the CMK ARN named in the request (for ReEncrypt, the destination key)
 * @param encryptionContext the encryption context sent to KMS
 * @param success whether KMS answered this attempt successfully and the answer checked out
 * @param errorCode KMS's error code; {@code "ResponseCheckFailed"} if the answer did not check out;
 *     {@code "NoResponse"} for an earlier attempt whose answer never arrived; for the last attempt
 *     of a call that failed on the client side, the exception's simple class name; {@code null} on
 *     success
 * @param requestId KMS's request id, when a response was received
 * @param latency time spent in this attempt (for the last, until the library had the answer or gave
 *     up)
 * @param time when the attempt was sent (when the call started, if no attempt was observed)
 * @param attempt this attempt's number within its call, from 1
 * @param lastAttempt whether this is the call's last attempt (the one whose outcome the caller saw)
 * @param responseReceived whether an HTTP response to this attempt arrived
 * @param callId the library call this attempt belongs to (random, per call)
 */
public record AuditEvent(
    String operation,
    String purpose,
    String tenantId,
    String keyArn,
    Map<String, String> encryptionContext,
    boolean success,
    String errorCode,
    String requestId,
    Duration latency,
    Instant time,
    int attempt,
    boolean lastAttempt,
    boolean responseReceived,
    String callId) {

  /**
   * An event of a call of one attempt, the earlier shape: attempt 1, the last one, a response
   * received if the call succeeded or has a request id, no call id.
   */
  public AuditEvent(
      String operation,
      String purpose,
      String tenantId,
      String keyArn,
      Map<String, String> encryptionContext,
      boolean success,
      String errorCode,
      String requestId,
      Duration latency,
      Instant time) {
    this(
        operation,
        purpose,
        tenantId,
        keyArn,
        encryptionContext,
        success,
        errorCode,
        requestId,
        latency,
        time,
        1,
        true,
        success || requestId != null,
        null);
  }
}
