package com.panops.crypto.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * A {@link TrailEvent} in CloudTrail's shape: its encryption contexts sorted by key, and the event
 * as one line of JSON (see {@link TrailEvent#toJson()}).
 */
final class CloudTrailJson {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private CloudTrailJson() {}

  /** An encryption context as events hold it: unmodifiable, sorted by key (empty for null). */
  static Map<String, String> sortedContext(Map<String, String> context) {
    return context == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(context));
  }

  static String of(TrailEvent e) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("eventVersion", "1.08");
    root.put("eventTime", e.eventTime().toString());
    root.put("eventSource", "kms.amazonaws.com");
    root.put("eventName", e.eventName());
    userIdentity(root.putObject("userIdentity"), e);
    if (e.userAgent() != null) {
      root.put("userAgent", e.userAgent());
    }
    requestParameters(root.putObject("requestParameters"), e);
    if (e.errorCode() != null) {
      root.put("errorCode", e.errorCode());
    }
    root.put("requestID", e.requestId());
    return root.toString();
  }

  private static void userIdentity(ObjectNode who, TrailEvent e) {
    who.put("type", e.sessionIssuerArn() != null ? "AssumedRole" : "IAMUser");
    who.put("arn", e.userArn());
    if (e.userArn() != null) {
      String[] parts = e.userArn().split(":", 6);
      if (parts.length == 6) {
        who.put("accountId", parts[4]);
      }
    }
    if (e.sessionIssuerArn() != null) {
      ObjectNode issuer = who.putObject("sessionContext").putObject("sessionIssuer");
      issuer.put("type", "Role");
      issuer.put("arn", e.sessionIssuerArn());
      String[] parts = e.sessionIssuerArn().split(":", 6);
      if (parts.length == 6) {
        issuer.put("accountId", parts[4]);
        issuer.put("userName", parts[5].substring(parts[5].lastIndexOf('/') + 1));
      }
    }
  }

  private static void requestParameters(ObjectNode params, TrailEvent e) {
    boolean reEncrypt = "ReEncrypt".equals(e.eventName());
    params.put(reEncrypt ? "sourceKeyId" : "keyId", e.keyId());
    ObjectNode ec = params.putObject(reEncrypt ? "sourceEncryptionContext" : "encryptionContext");
    e.encryptionContext().forEach(ec::put);
    if (e.encryptionAlgorithm() != null) {
      params.put(
          reEncrypt ? "sourceEncryptionAlgorithm" : "encryptionAlgorithm", e.encryptionAlgorithm());
    }
    if (reEncrypt) {
      params.put("destinationKeyId", e.destinationKeyId());
      ObjectNode dec = params.putObject("destinationEncryptionContext");
      e.destinationEncryptionContext().forEach(dec::put);
    }
  }
}
