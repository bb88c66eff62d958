package com.panops.crypto.testkit.internal.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.panops.crypto.testkit.Principal;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Instant;
import java.util.Base64;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the trail will say about the current call: prefilled from the raw request (never throwing,
 * whatever the request holds), then filled in as the operation resolves its keys.
 */
final class CallRecord {

  private static final Set<String> CRYPTO_OPS = Set.of("Encrypt", "Decrypt", "ReEncrypt");

  String keyArn;
  Map<String, String> context = Map.of();
  String algorithm;
  String destinationKeyArn;
  Map<String, String> destinationContext = Map.of();

  /** CloudTrail's {@code requestParameters} of the request (see {@link CloudTrailRecord}). */
  com.fasterxml.jackson.databind.node.ObjectNode requestParameters;

  /** CloudTrail's {@code responseElements}, set once the call succeeded. */
  com.fasterxml.jackson.databind.node.ObjectNode responseElements;

  /** KMS's error message of a refusal (never holds secrets). */
  String errorMessage;

  /** An empty record: the request named nothing the trail can use. */
  CallRecord() {}

  /**
   * A record of what the unvalidated request names: its key (for Decrypt and ReEncrypt without a
   * key id, the one the ciphertext names), its encryption context and algorithm, and for ReEncrypt
   * the destination's.
   */
  static CallRecord prefilled(String operation, JsonNode request, KeyStore keys) {
    CallRecord rec = new CallRecord();
    if (request == null || !request.isObject()) {
      return rec;
    }
    boolean reEncrypt = operation.equals("ReEncrypt");
    String keyId = text(request, reEncrypt ? "SourceKeyId" : "KeyId");
    rec.keyArn = keyId == null ? null : arnHint(keyId, keys);
    if (rec.keyArn == null && (operation.equals("Decrypt") || reEncrypt)) {
      rec.keyArn = blobKeyArn(text(request, "CiphertextBlob"), keys);
    }
    Map<String, String> ec =
        textMembers(request.get(reEncrypt ? "SourceEncryptionContext" : "EncryptionContext"));
    if (ec != null) {
      rec.context = ec;
    }
    if (reEncrypt) {
      String dest = text(request, "DestinationKeyId");
      rec.destinationKeyArn = dest == null ? null : arnHint(dest, keys);
      Map<String, String> dec = textMembers(request.get("DestinationEncryptionContext"));
      if (dec != null) {
        rec.destinationContext = dec;
      }
    }
    if (CRYPTO_OPS.contains(operation)) {
      String alg = text(request, reEncrypt ? "SourceEncryptionAlgorithm" : "EncryptionAlgorithm");
      rec.algorithm = alg == null ? Requests.SYMMETRIC_DEFAULT : alg;
    }
    rec.requestParameters = CloudTrailRecord.requestParameters(operation, request, rec);
    return rec;
  }

  /** The trail event of a request that reached the engine. */
  TrailEvent event(
      Instant eventTime,
      String operation,
      Principal caller,
      String errorCode,
      String requestId,
      String userAgent) {
    return new TrailEvent(
        eventTime,
        operation,
        caller.arn(),
        keyArn,
        context,
        algorithm,
        errorCode,
        requestId,
        caller.sessionIssuerArn(),
        userAgent,
        destinationKeyArn,
        destinationContext);
  }

  /** The trail event of a request refused before it reached an operation. */
  TrailEvent rejected(
      Instant eventTime, String operation, String callerArn, String errorCode, String requestId) {
    return new TrailEvent(
        eventTime, operation, callerArn, keyArn, context, algorithm, errorCode, requestId);
  }

  /** The object's textual members, sorted by name; null if {@code node} is not an object. */
  private static Map<String, String> textMembers(JsonNode node) {
    if (node == null || !node.isObject()) {
      return null;
    }
    Map<String, String> m = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isTextual()) {
        m.put(e.getKey(), e.getValue().asText());
      }
    }
    return m;
  }

  private static String text(JsonNode request, String name) {
    JsonNode n = request.get(name);
    return n != null && n.isTextual() ? n.asText() : null;
  }

  private static String arnHint(String keyId, KeyStore keys) {
    if (KeyStore.UUID_PATTERN.matcher(keyId).matches()) {
      return keys.keyArn(keyId.toLowerCase(Locale.ROOT));
    }
    if (keyId.startsWith("arn:aws:kms:") && keyId.length() <= Requests.MAX_KEY_ID) {
      return keyId;
    }
    return null;
  }

  private static String blobKeyArn(String base64, KeyStore keys) {
    if (base64 == null) {
      return null;
    }
    try {
      return CiphertextBlob.keyIdOf(Base64.getDecoder().decode(base64))
          .map(id -> keys.keyArn(id.toString()))
          .orElse(null);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
