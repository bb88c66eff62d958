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
 */
public record TrailEvent(
    Instant eventTime,
    String eventName,
    String userArn,
    String keyId,
    Map<String, String> encryptionContext,
    String encryptionAlgorithm,
    String errorCode,
    String requestId) {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  public TrailEvent {
    Objects.requireNonNull(eventTime, "eventTime");
    encryptionContext =
        encryptionContext == null
            ? Map.of()
            : Collections.unmodifiableMap(new TreeMap<>(encryptionContext));
  }

  /** True if the request was refused or failed. */
  public boolean failed() {
    return errorCode != null;
  }

  /**
   * This event as one line of CloudTrail-shaped JSON: {@code eventTime, eventSource, eventName,
   * userIdentity.arn, requestParameters{keyId, encryptionContext, encryptionAlgorithm}, errorCode,
   * requestID}.
   */
  public String toJson() {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("eventVersion", "1.08");
    root.put("eventTime", eventTime.toString());
    root.put("eventSource", "kms.amazonaws.com");
    root.put("eventName", eventName);
    root.putObject("userIdentity").put("arn", userArn);
    ObjectNode params = root.putObject("requestParameters");
    params.put("keyId", keyId);
    ObjectNode ec = params.putObject("encryptionContext");
    encryptionContext.forEach(ec::put);
    if (encryptionAlgorithm != null) {
      params.put("encryptionAlgorithm", encryptionAlgorithm);
    }
    if (errorCode != null) {
      root.put("errorCode", errorCode);
    }
    root.put("requestID", requestId);
    return root.toString();
  }
}
