package com.panops.crypto.testkit.internal.kms;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;

/**
 * LocalKms's ciphertext blob. Byte by byte:
 *
 * <pre>
 * offset  length  field
 * 0       1       version, 0x01
 * 1       16      key id: the key's UUID, most significant 8 bytes first
 * 17      12      GCM nonce (random)
 * 29      n + 16  AES-256-GCM ciphertext of the n plaintext bytes, then the 16-byte tag
 * </pre>
 *
 * The additional authenticated data is bytes 0..28 of the blob (version, key id and nonce) followed
 * by the canonical encryption context: a 2-byte big-endian pair count, then per pair, sorted by
 * key, a 2-byte length and the UTF-8 bytes of the key, a 2-byte length and the UTF-8 bytes of the
 * value. So a blob decrypts only under its own key and with exactly the encryption context it was
 * made with; the key id in clear lets Decrypt work without a KeyId.
 */
final class CiphertextBlob {
  static final byte VERSION = 0x01;
  static final int HEADER = 1 + 16 + 12;
  static final int TAG = 16;
  static final int MIN_LENGTH = HEADER + TAG;

  private CiphertextBlob() {}

  /** The key UUID named by a blob, or empty if the blob is not in this format. */
  static Optional<UUID> keyIdOf(byte[] blob) {
    if (blob == null || blob.length < MIN_LENGTH || blob[0] != VERSION) {
      return Optional.empty();
    }
    ByteBuffer b = ByteBuffer.wrap(blob, 1, 16);
    return Optional.of(new UUID(b.getLong(), b.getLong()));
  }

  static byte[] seal(
      UUID keyId,
      SecretKey key,
      byte[] plaintext,
      Map<String, String> context,
      SecureRandom random) {
    byte[] header = new byte[HEADER];
    ByteBuffer hb = ByteBuffer.wrap(header);
    hb.put(VERSION)
        .putLong(keyId.getMostSignificantBits())
        .putLong(keyId.getLeastSignificantBits());
    byte[] nonce = new byte[12];
    random.nextBytes(nonce);
    hb.put(nonce);
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
      c.updateAAD(header);
      c.updateAAD(canonicalContext(context));
      byte[] ct = c.doFinal(plaintext);
      byte[] out = Arrays.copyOf(header, HEADER + ct.length);
      System.arraycopy(ct, 0, out, HEADER, ct.length);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM encryption failed", e);
    }
  }

  /** Decrypts a blob already known to name this key; empty if authentication fails. */
  static Optional<byte[]> open(byte[] blob, SecretKey key, Map<String, String> context) {
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, blob, 17, 12));
      c.updateAAD(blob, 0, HEADER);
      c.updateAAD(canonicalContext(context));
      return Optional.of(c.doFinal(blob, HEADER, blob.length - HEADER));
    } catch (javax.crypto.AEADBadTagException e) {
      return Optional.empty();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM decryption failed", e);
    }
  }

  /** The canonical encoding of an encryption context (see the class comment). */
  static byte[] canonicalContext(Map<String, String> context) {
    SortedMap<String, String> sorted = new TreeMap<>(context == null ? Map.of() : context);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    writeLength(out, sorted.size());
    for (Map.Entry<String, String> e : sorted.entrySet()) {
      byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8);
      byte[] v = e.getValue().getBytes(StandardCharsets.UTF_8);
      writeLength(out, k.length);
      out.writeBytes(k);
      writeLength(out, v.length);
      out.writeBytes(v);
    }
    return out.toByteArray();
  }

  private static void writeLength(ByteArrayOutputStream out, int n) {
    if (n > 0xFFFF) {
      throw new IllegalArgumentException("encryption context element too long");
    }
    out.write(n >>> 8);
    out.write(n & 0xFF);
  }
}
