package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.bytes;
import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.EncryptionAlgorithmSpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyWithoutPlaintextResponse;
import software.amazon.awssdk.services.kms.model.IncorrectKeyException;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.NotFoundException;
import software.amazon.awssdk.services.kms.model.ReEncryptResponse;

class LocalKmsCryptoIT extends LocalKmsWithClients.PerClass {

  private static final Map<String, String> CTX = Map.of("tenant", "t-42", "purpose", "mail");

  /** A 32-byte data key of the key under CTX. */
  private GenerateDataKeyResponse aes256DataKeyUnderCtx(String keyId) {
    return vendor.generateDataKey(
        r -> r.keyId(keyId).keySpec(DataKeySpec.AES_256).encryptionContext(CTX));
  }

  private void assertDecryptIsAnInvalidCiphertext(Consumer<DecryptRequest.Builder> request) {
    assertThrows(InvalidCiphertextException.class, () -> vendor.decrypt(request));
  }

  private static void assertValidationException(Executable call) {
    KmsException e = assertThrows(KmsException.class, call);
    assertEquals("ValidationException", errorCode(e));
  }

  @Test
  void generateDataKeyReturnsA32ByteKeyThatDecryptWithTheKeyIdGivesBack() {
    String key = kms.createKey("gdk");
    GenerateDataKeyResponse gdk = aes256DataKeyUnderCtx(key);
    assertEquals(key, gdk.keyId());
    assertEquals(32, gdk.plaintext().asByteArray().length);
    DecryptResponse dec =
        vendor.decrypt(
            r -> r.keyId(key).ciphertextBlob(gdk.ciphertextBlob()).encryptionContext(CTX));
    assertArrayEquals(gdk.plaintext().asByteArray(), dec.plaintext().asByteArray());
    assertEquals(key, dec.keyId());
    assertEquals(EncryptionAlgorithmSpec.SYMMETRIC_DEFAULT, dec.encryptionAlgorithm());
  }

  @Test
  void decryptWithoutKeyIdFindsTheKeyFromTheCiphertext() {
    String key = kms.createKey("no key id");
    GenerateDataKeyResponse gdk = aes256DataKeyUnderCtx(key);
    DecryptResponse dec =
        vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob()).encryptionContext(CTX));
    assertArrayEquals(gdk.plaintext().asByteArray(), dec.plaintext().asByteArray());
    assertEquals(key, dec.keyId());
  }

  @Test
  void keyIdMayBeTheBareUuidAndResponsesStillNameTheFullArn() {
    String key = kms.createKey("uuid");
    String uuid = key.substring(key.indexOf("key/") + 4);
    GenerateDataKeyResponse gdk =
        vendor.generateDataKey(r -> r.keyId(uuid).keySpec(DataKeySpec.AES_128));
    assertEquals(key, gdk.keyId());
    assertEquals(16, gdk.plaintext().asByteArray().length);
    assertEquals(
        key, vendor.decrypt(r -> r.keyId(uuid).ciphertextBlob(gdk.ciphertextBlob())).keyId());
  }

  @Test
  void numberOfBytesGivesDataKeysOfThatLength() {
    String key = kms.createKey("n bytes");
    for (int n : new int[] {1, 64, 1024}) {
      GenerateDataKeyResponse gdk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(n));
      assertEquals(n, gdk.plaintext().asByteArray().length);
    }
  }

  @Test
  void keySpecAndNumberOfBytesTogetherOrNeitherAreValidationErrors() {
    String key = kms.createKey("spec");
    assertValidationException(
        () ->
            vendor.generateDataKey(
                r -> r.keyId(key).keySpec(DataKeySpec.AES_256).numberOfBytes(32)));
    assertValidationException(() -> vendor.generateDataKey(r -> r.keyId(key)));
    assertValidationException(() -> vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(1025)));
  }

  @Test
  void twoDataKeysAreDifferentAndSoAreTheirCiphertexts() {
    String key = kms.createKey("random");
    GenerateDataKeyResponse a = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    GenerateDataKeyResponse b = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    assertFalse(Arrays.equals(a.plaintext().asByteArray(), b.plaintext().asByteArray()));
    assertFalse(Arrays.equals(new byte[32], a.plaintext().asByteArray()));
    assertNotEquals(a.ciphertextBlob(), b.ciphertextBlob());
  }

  @Test
  void aDifferentEncryptionContextOnDecryptIsAnInvalidCiphertext() {
    String key = kms.createKey("ctx");
    GenerateDataKeyResponse gdk = aes256DataKeyUnderCtx(key);
    assertDecryptIsAnInvalidCiphertext(
        r ->
            r.keyId(key)
                .ciphertextBlob(gdk.ciphertextBlob())
                .encryptionContext(Map.of("tenant", "t-43", "purpose", "mail")));
    assertDecryptIsAnInvalidCiphertext(r -> r.keyId(key).ciphertextBlob(gdk.ciphertextBlob()));
    assertDecryptIsAnInvalidCiphertext(
        r ->
            r.keyId(key)
                .ciphertextBlob(gdk.ciphertextBlob())
                .encryptionContext(Map.of("tenant", "t-42")));
  }

  @Test
  void aCiphertextOfAnotherKeyWithAnExplicitKeyIdIsAnIncorrectKey() {
    String keyA = kms.createKey("a");
    String keyB = kms.createKey("b");
    GenerateDataKeyResponse gdk =
        vendor.generateDataKey(r -> r.keyId(keyA).keySpec(DataKeySpec.AES_256));
    assertThrows(
        IncorrectKeyException.class,
        () -> vendor.decrypt(r -> r.keyId(keyB).ciphertextBlob(gdk.ciphertextBlob())));
  }

  @Test
  void garbageAndTamperedCiphertextsAreInvalidCiphertexts() {
    String key = kms.createKey("garbage");
    byte[] garbage = new byte[200];
    new Random(7).nextBytes(garbage);
    assertDecryptIsAnInvalidCiphertext(r -> r.ciphertextBlob(SdkBytes.fromByteArray(garbage)));
    assertDecryptIsAnInvalidCiphertext(
        r -> r.keyId(key).ciphertextBlob(SdkBytes.fromByteArray(new byte[] {1})));
    GenerateDataKeyResponse gdk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    byte[] tampered = gdk.ciphertextBlob().asByteArray();
    tampered[tampered.length - 1] ^= 0x01;
    assertDecryptIsAnInvalidCiphertext(r -> r.ciphertextBlob(SdkBytes.fromByteArray(tampered)));
  }

  @Test
  void encryptAndDecryptRoundTripASmallPlaintext() {
    String key = kms.createKey("encrypt");
    EncryptResponse enc =
        vendor.encrypt(r -> r.keyId(key).plaintext(bytes("canary")).encryptionContext(CTX));
    assertEquals(key, enc.keyId());
    assertEquals(EncryptionAlgorithmSpec.SYMMETRIC_DEFAULT, enc.encryptionAlgorithm());
    assertNull(indexOf(enc.ciphertextBlob().asByteArray(), bytes("canary").asByteArray()));
    DecryptResponse dec =
        vendor.decrypt(r -> r.ciphertextBlob(enc.ciphertextBlob()).encryptionContext(CTX));
    assertEquals("canary", dec.plaintext().asUtf8String());
  }

  @Test
  void encryptRefusesPlaintextsOver4096Bytes() {
    String key = kms.createKey("big");
    assertValidationException(
        () -> vendor.encrypt(r -> r.keyId(key).plaintext(SdkBytes.fromByteArray(new byte[4097]))));
  }

  @Test
  void reEncryptMovesACiphertextToAnotherKeyAndContext() {
    String source = kms.createKey("source");
    String destination = kms.createKey("destination");
    GenerateDataKeyResponse gdk = aes256DataKeyUnderCtx(source);
    Map<String, String> newCtx = Map.of("tenant", "t-42", "purpose", "archive");
    ReEncryptResponse re =
        vendor.reEncrypt(
            r ->
                r.ciphertextBlob(gdk.ciphertextBlob())
                    .sourceEncryptionContext(CTX)
                    .destinationKeyId(destination)
                    .destinationEncryptionContext(newCtx));
    assertEquals(source, re.sourceKeyId());
    assertEquals(destination, re.keyId());
    DecryptResponse dec =
        vendor.decrypt(
            r ->
                r.keyId(destination).ciphertextBlob(re.ciphertextBlob()).encryptionContext(newCtx));
    assertArrayEquals(gdk.plaintext().asByteArray(), dec.plaintext().asByteArray());
    assertThrows(
        IncorrectKeyException.class,
        () ->
            vendor.decrypt(
                r ->
                    r.keyId(source).ciphertextBlob(re.ciphertextBlob()).encryptionContext(newCtx)));
  }

  @Test
  void reEncryptWithAnExplicitWrongSourceKeyIsAnIncorrectKey() {
    String source = kms.createKey("source");
    String other = kms.createKey("other");
    GenerateDataKeyResponse gdk = vendor.generateDataKey(r -> r.keyId(source).numberOfBytes(32));
    assertThrows(
        IncorrectKeyException.class,
        () ->
            vendor.reEncrypt(
                r ->
                    r.ciphertextBlob(gdk.ciphertextBlob())
                        .sourceKeyId(other)
                        .destinationKeyId(other)));
  }

  @Test
  void generateDataKeyWithoutPlaintextReturnsOnlyACiphertextThatDecrypts() {
    String key = kms.createKey("without plaintext");
    GenerateDataKeyWithoutPlaintextResponse gdk =
        admin.generateDataKeyWithoutPlaintext(
            r -> r.keyId(key).keySpec(DataKeySpec.AES_256).encryptionContext(CTX));
    assertEquals(key, gdk.keyId());
    DecryptResponse dec =
        admin.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob()).encryptionContext(CTX));
    assertEquals(32, dec.plaintext().asByteArray().length);
  }

  @Test
  void unknownKeysAndAliasesAreNotFound() {
    assertThrows(
        NotFoundException.class,
        () ->
            vendor.generateDataKey(
                r ->
                    r.keyId(
                            "arn:aws:kms:us-east-1:111122223333:key/"
                                + "00000000-0000-0000-0000-000000000000")
                        .numberOfBytes(32)));
    assertThrows(
        NotFoundException.class,
        () -> vendor.generateDataKey(r -> r.keyId("alias/tenant-42").numberOfBytes(32)));
    assertThrows(
        NotFoundException.class,
        () -> vendor.generateDataKey(r -> r.keyId("not-a-key").numberOfBytes(32)));
  }

  @Test
  void aCiphertextSaysNothingAboutTheDataKeyInTheClear() {
    String key = kms.createKey("opaque");
    GenerateDataKeyResponse gdk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    byte[] blob = gdk.ciphertextBlob().asByteArray();
    byte[] pt = gdk.plaintext().asByteArray();
    assertNull(indexOf(blob, Arrays.copyOf(pt, 8)));
    assertTrue(blob.length >= 32 + 16);
  }

  private static Integer indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return null;
  }
}
