package com.panops.crypto.testkit.internal.kms;

import static com.panops.crypto.testkit.internal.kms.KeyAccess.requireAllowed;
import static com.panops.crypto.testkit.internal.kms.KeyAccess.requireUsable;
import static com.panops.crypto.testkit.internal.kms.KmsEngine.MAPPER;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.testkit.LocalKmsException;
import com.panops.crypto.testkit.Principal;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The cryptographic operations: GenerateDataKey, GenerateDataKeyWithoutPlaintext, Encrypt, Decrypt
 * and ReEncrypt. Each sees its keys through propagation, needs the policy (or a grant) to allow it
 * for its encryption context and the key to be usable, then seals or opens a {@link
 * CiphertextBlob}. Plaintext copies are wiped once sealed; a response keeps its own array.
 */
record CryptoOperations(KeyStore keys, SecureRandom random) {

  private static final int MAX_PLAINTEXT = 4096;
  private static final int MAX_CIPHERTEXT = 6144;

  ObjectNode generateDataKey(Principal caller, Requests r, CallRecord rec, boolean withPlaintext) {
    String action = withPlaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext";
    KeyRecord k = keys.named(r, "KeyId", rec);
    Map<String, String> context = r.context("EncryptionContext");
    String keySpec = r.string("KeySpec", false, 64);
    Integer numberOfBytes = r.integer("NumberOfBytes", 1, 1024);
    r.stringList("GrantTokens");
    requireKeySpecOrLength(keySpec, numberOfBytes);
    KeyView v = keys.seen(k);
    requireAllowed(caller, k, v, action, context);
    requireUsable(k, v);
    if (withPlaintext) {
      refuseRecipient(r);
    }
    r.stopIfDryRun();
    int n = numberOfBytes != null ? numberOfBytes : keySpec.equals("AES_256") ? 32 : 16;
    byte[] dataKey = new byte[n];
    random.nextBytes(dataKey);
    ObjectNode out = MAPPER.createObjectNode();
    out.put("CiphertextBlob", CiphertextBlob.seal(k.id, k.secretKey(), dataKey, context, random));
    out.put("KeyId", k.arn);
    if (withPlaintext) {
      out.put("Plaintext", dataKey); // the node keeps this array: never wipe it
    } else {
      Arrays.fill(dataKey, (byte) 0);
    }
    return out;
  }

  private static void requireKeySpecOrLength(String keySpec, Integer numberOfBytes) {
    if (keySpec != null && !keySpec.equals("AES_256") && !keySpec.equals("AES_128")) {
      throw LocalKmsException.of(
          "ValidationException",
          "1 validation error detected: Value '"
              + keySpec
              + "' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set:"
              + " [AES_256, AES_128]");
    }
    if ((keySpec == null) == (numberOfBytes == null)) {
      throw LocalKmsException.of(
          "ValidationException", "Please specify either number of bytes or key spec.");
    }
  }

  private static void refuseRecipient(Requests r) {
    if (r.blob("Recipient", false, 1 << 20) != null) {
      throw LocalKmsException.of(
          "UnsupportedOperationException", "LocalKms does not support Recipient (Nitro enclaves).");
    }
  }

  ObjectNode encrypt(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = keys.named(r, "KeyId", rec);
    byte[] plaintext = r.blob("Plaintext", true, MAX_PLAINTEXT);
    Map<String, String> context = r.context("EncryptionContext");
    r.stringList("GrantTokens");
    String alg = r.algorithm("EncryptionAlgorithm");
    KeyView v = keys.seen(k);
    requireAllowed(caller, k, v, "kms:Encrypt", context);
    requireUsable(k, v);
    r.stopIfDryRun();
    ObjectNode out = MAPPER.createObjectNode();
    out.put("CiphertextBlob", CiphertextBlob.seal(k.id, k.secretKey(), plaintext, context, random));
    out.put("KeyId", k.arn);
    out.put("EncryptionAlgorithm", alg);
    Arrays.fill(plaintext, (byte) 0);
    return out;
  }

  ObjectNode decrypt(Principal caller, Requests r, CallRecord rec) {
    byte[] blob = r.blob("CiphertextBlob", true, MAX_CIPHERTEXT);
    Map<String, String> context = r.context("EncryptionContext");
    String explicitKeyId = r.string("KeyId", false, Requests.MAX_KEY_ID);
    r.stringList("GrantTokens");
    r.stringList("DryRunModifiers");
    String alg = r.algorithm("EncryptionAlgorithm");
    KeyRecord k = blobKey(blob, explicitKeyId, rec);
    KeyView v = keys.seen(k);
    requireAllowed(caller, k, v, "kms:Decrypt", context);
    requireUsable(k, v);
    refuseRecipient(r);
    byte[] plaintext = open(k, blob, context);
    r.stopIfDryRun();
    ObjectNode out = MAPPER.createObjectNode();
    out.put("KeyId", k.arn);
    out.put("Plaintext", plaintext); // the node keeps this array: never wipe it
    out.put("EncryptionAlgorithm", alg);
    return out;
  }

  ObjectNode reEncrypt(Principal caller, Requests r, CallRecord rec) {
    byte[] blob = r.blob("CiphertextBlob", true, MAX_CIPHERTEXT);
    Map<String, String> sourceContext = r.context("SourceEncryptionContext");
    String sourceKeyId = r.string("SourceKeyId", false, Requests.MAX_KEY_ID);
    String destinationKeyId = r.string("DestinationKeyId", true, Requests.MAX_KEY_ID);
    Map<String, String> destinationContext = r.context("DestinationEncryptionContext");
    String sourceAlg = r.algorithm("SourceEncryptionAlgorithm");
    String destinationAlg = r.algorithm("DestinationEncryptionAlgorithm");
    r.stringList("GrantTokens");
    r.stringList("DryRunModifiers");
    KeyRecord source = blobKey(blob, sourceKeyId, rec);
    KeyView sourceView = keys.seen(source);
    requireAllowed(caller, source, sourceView, "kms:ReEncryptFrom", sourceContext);
    requireUsable(source, sourceView);
    KeyRecord destination = keys.resolve(destinationKeyId);
    rec.destinationKeyArn = destination.arn;
    KeyView destinationView = keys.seen(destination);
    requireAllowed(caller, destination, destinationView, "kms:ReEncryptTo", destinationContext);
    requireUsable(destination, destinationView);
    byte[] plaintext = open(source, blob, sourceContext);
    r.stopIfDryRun();
    ObjectNode out = MAPPER.createObjectNode();
    out.put(
        "CiphertextBlob",
        CiphertextBlob.seal(
            destination.id, destination.secretKey(), plaintext, destinationContext, random));
    Arrays.fill(plaintext, (byte) 0);
    out.put("SourceKeyId", source.arn);
    out.put("KeyId", destination.arn);
    out.put("SourceEncryptionAlgorithm", sourceAlg);
    out.put("DestinationEncryptionAlgorithm", destinationAlg);
    return out;
  }

  /** Finds the key a ciphertext blob names, checking an explicitly named key against it. */
  private KeyRecord blobKey(byte[] blob, String explicitKeyId, CallRecord rec) {
    Optional<UUID> id = CiphertextBlob.keyIdOf(blob);
    if (id.isEmpty()) {
      throw invalidCiphertext();
    }
    if (rec != null) {
      rec.keyArn = keys.keyArn(id.get().toString());
    }
    KeyRecord explicit = explicitKeyId == null ? null : keys.resolve(explicitKeyId);
    Optional<KeyRecord> k = keys.byId(id.get());
    if (k.isEmpty()) {
      if (keys.wasDeleted(id.get())) {
        throw LocalKmsException.of(
            "NotFoundException", "Key '" + keys.keyArn(id.get().toString()) + "' does not exist");
      }
      throw invalidCiphertext();
    }
    if (explicit != null && explicit != k.get()) {
      throw LocalKmsException.of(
          "IncorrectKeyException",
          "The key ID in the request does not identify a KMS key that can perform this"
              + " operation.");
    }
    return k.get();
  }

  private static LocalKmsException invalidCiphertext() {
    return LocalKmsException.of(
        "InvalidCiphertextException",
        "The ciphertext is invalid, or its encryption context does not match.");
  }

  private static byte[] open(KeyRecord k, byte[] blob, Map<String, String> context) {
    return CiphertextBlob.open(blob, k.secretKey(), context)
        .orElseThrow(CryptoOperations::invalidCiphertext);
  }
}
