package com.panops.crypto;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * One KMS call made by this library, mirroring the record the customer's CloudTrail gets: the
 * operation, the key, the encryption context sent, the outcome, KMS's error code and request id
 * (which matches CloudTrail's {@code requestID}), the latency and the time. Never holds key
 * material or plaintext.
 *
 * @param operation the KMS operation ({@code GenerateDataKey}, {@code Decrypt}, {@code Encrypt},
 *     {@code ReEncrypt}, {@code DescribeKey})
 * @param purpose why the library called: {@code data-key}, {@code probe}, {@code canary}, {@code
 *     re-wrap}, {@code describe}
 * @param tenantId the tenant on whose behalf the call was made, or {@code null} for a probe of a
 *     key shared by tenants
 * @param keyArn the CMK ARN named in the request
 * @param encryptionContext the encryption context sent to KMS
 * @param success whether KMS answered successfully and the answer checked out
 * @param errorCode KMS's error code, {@code "ResponseCheckFailed"} if the answer did not check out,
 *     or the exception's simple class name for a client-side failure; {@code null} on success
 * @param requestId KMS's request id, when one was received
 * @param latency time spent in the call, including the SDK's retries
 * @param time when the call started
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
    Instant time) {}
