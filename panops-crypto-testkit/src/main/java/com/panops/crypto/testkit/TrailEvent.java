package com.panops.crypto.testkit;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One CloudTrail-like record of a request LocalKms received, allowed or refused. It never holds
 * plaintext or key material.
 *
 * <p>{@link #roleArn()} is the IAM role the caller acts as: {@link #sessionIssuerArn()} for an
 * assumed-role session, else {@link #userArn()}. It is what a reconciliation should compare with
 * the role it expects, since the session name in {@code userArn} differs per worker and per
 * credential refresh.
 *
 * <p>{@link #toJson()} writes {@code eventTime, eventSource, eventName, userIdentity{type, arn,
 * accountId, sessionContext.sessionIssuer{type, arn, accountId, userName}}, userAgent,
 * requestParameters{keyId, encryptionContext, encryptionAlgorithm} (for ReEncrypt {@code
 * sourceKeyId, destinationKeyId, sourceEncryptionContext, destinationEncryptionContext,
 * sourceEncryptionAlgorithm}), errorCode, requestID}.
 *
 * @param eventTime when the request was handled (on LocalKms's clock)
 * @param eventName the KMS operation, e.g. {@code Decrypt}; null if the request named none
 * @param userArn the caller's principal ARN; null if the caller could not be identified
 * @param keyId the key ARN the request concerned; null if none could be determined
 * @param encryptionContext the request's encryption context (empty if none)
 * @param encryptionAlgorithm the request's encryption algorithm for Encrypt, Decrypt and ReEncrypt
 *     (SYMMETRIC_DEFAULT when the caller sent none); null for other operations
 * @param errorCode the KMS error name, null on success
 * @param requestId the request id LocalKms answered in {@code x-amzn-RequestId}
 * @param sessionIssuerArn for an assumed-role session ({@code userArn} {@code
 *     arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION}), the role's ARN, as CloudTrail has it in
 *     {@code userIdentity.sessionContext.sessionIssuer.arn}; null for other callers
 * @param userAgent the request's {@code User-Agent} header, as CloudTrail records it; null for
 *     in-process actions
 * @param destinationKeyId for ReEncrypt, the destination key ARN (then {@code keyId} and {@code
 *     encryptionContext} are the source's); null for other operations
 * @param destinationEncryptionContext for ReEncrypt, the destination encryption context (empty
 *     otherwise)
 */
public record TrailEvent(
    Instant eventTime,
    String eventName,
    String userArn,
    String keyId,
    Map<String, String> encryptionContext,
    String encryptionAlgorithm,
    String errorCode,
    String requestId,
    String sessionIssuerArn,
    String userAgent,
    String destinationKeyId,
    Map<String, String> destinationEncryptionContext) {

  public TrailEvent {
    Objects.requireNonNull(eventTime, "eventTime");
    encryptionContext = CloudTrailJson.sortedContext(encryptionContext);
    destinationEncryptionContext = CloudTrailJson.sortedContext(destinationEncryptionContext);
  }

  /** A record without session issuer, user agent or destination. */
  public TrailEvent(
      Instant eventTime,
      String eventName,
      String userArn,
      String keyId,
      Map<String, String> encryptionContext,
      String encryptionAlgorithm,
      String errorCode,
      String requestId) {
    this(
        eventTime,
        eventName,
        userArn,
        keyId,
        encryptionContext,
        encryptionAlgorithm,
        errorCode,
        requestId,
        null,
        null,
        null,
        Map.of());
  }

  /** The IAM role the caller acts as (see the class comment). */
  public String roleArn() {
    return sessionIssuerArn != null ? sessionIssuerArn : userArn;
  }

  /** True if the request was refused or failed. */
  public boolean failed() {
    return errorCode != null;
  }

  /** This event as one line of CloudTrail-shaped JSON (see the class comment). */
  public String toJson() {
    return CloudTrailJson.of(this);
  }
}
