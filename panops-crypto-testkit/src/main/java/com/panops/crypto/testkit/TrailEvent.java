package com.panops.crypto.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One CloudTrail-like record of a request LocalKms received, allowed or refused. It never holds
 * plaintext or key material.
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

  private static final ObjectMapper MAPPER = new ObjectMapper();

  public TrailEvent {
    Objects.requireNonNull(eventTime, "eventTime");
    encryptionContext =
        encryptionContext == null
            ? Map.of()
            : Collections.unmodifiableMap(new TreeMap<>(encryptionContext));
    destinationEncryptionContext =
        destinationEncryptionContext == null
            ? Map.of()
            : Collections.unmodifiableMap(new TreeMap<>(destinationEncryptionContext));
  }

  /** A record without session issuer, user agent or destination (the earlier shape). */
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

  /**
   * The IAM role the caller acts as: {@link #sessionIssuerArn()} for an assumed-role session, else
   * {@link #userArn()}. What a reconciliation should compare with the role it expects, since the
   * session name in {@code userArn} differs per worker and per credential refresh.
   */
  public String roleArn() {
    return sessionIssuerArn != null ? sessionIssuerArn : userArn;
  }

  /** True if the request was refused or failed. */
  public boolean failed() {
    return errorCode != null;
  }

  /**
   * This event as one line of CloudTrail-shaped JSON: {@code eventTime, eventSource, eventName,
   * userIdentity{type, arn, accountId, sessionContext.sessionIssuer{type, arn, accountId,
   * userName}}, userAgent, requestParameters{keyId, encryptionContext, encryptionAlgorithm} (for
   * ReEncrypt {@code sourceKeyId, destinationKeyId, sourceEncryptionContext,
   * destinationEncryptionContext, sourceEncryptionAlgorithm}), errorCode, requestID}.
   */
  public String toJson() {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("eventVersion", "1.08");
    root.put("eventTime", eventTime.toString());
    root.put("eventSource", "kms.amazonaws.com");
    root.put("eventName", eventName);
    ObjectNode who = root.putObject("userIdentity");
    who.put("type", sessionIssuerArn != null ? "AssumedRole" : "IAMUser");
    who.put("arn", userArn);
    if (userArn != null) {
      String[] parts = userArn.split(":", 6);
      if (parts.length == 6) {
        who.put("accountId", parts[4]);
      }
    }
    if (sessionIssuerArn != null) {
      ObjectNode issuer = who.putObject("sessionContext").putObject("sessionIssuer");
      issuer.put("type", "Role");
      issuer.put("arn", sessionIssuerArn);
      String[] parts = sessionIssuerArn.split(":", 6);
      if (parts.length == 6) {
        issuer.put("accountId", parts[4]);
        issuer.put("userName", parts[5].substring(parts[5].lastIndexOf('/') + 1));
      }
    }
    if (userAgent != null) {
      root.put("userAgent", userAgent);
    }
    ObjectNode params = root.putObject("requestParameters");
    boolean reEncrypt = "ReEncrypt".equals(eventName);
    params.put(reEncrypt ? "sourceKeyId" : "keyId", keyId);
    ObjectNode ec = params.putObject(reEncrypt ? "sourceEncryptionContext" : "encryptionContext");
    encryptionContext.forEach(ec::put);
    if (encryptionAlgorithm != null) {
      params.put(
          reEncrypt ? "sourceEncryptionAlgorithm" : "encryptionAlgorithm", encryptionAlgorithm);
    }
    if (reEncrypt) {
      params.put("destinationKeyId", destinationKeyId);
      ObjectNode dec = params.putObject("destinationEncryptionContext");
      destinationEncryptionContext.forEach(dec::put);
    }
    if (errorCode != null) {
      root.put("errorCode", errorCode);
    }
    root.put("requestID", requestId);
    return root.toString();
  }
}
