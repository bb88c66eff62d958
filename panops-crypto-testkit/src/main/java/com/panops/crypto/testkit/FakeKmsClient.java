package com.panops.crypto.testkit;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.DisabledException;
import software.amazon.awssdk.services.kms.model.EncryptRequest;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.IncorrectKeyException;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.NotFoundException;
import software.amazon.awssdk.services.kms.model.ReEncryptRequest;
import software.amazon.awssdk.services.kms.model.ReEncryptResponse;

/**
 * An in-process fake {@link KmsClient} (AWS SDK v2 interface) of the operations panops-crypto and
 * its peers use: {@code GenerateDataKey}, {@code Decrypt}, {@code Encrypt}, {@code ReEncrypt}. For
 * unit tests of the library's own logic (cache, single flight, latching) and for benchmarks, where
 * every implementation gets the same KMS with a configurable added latency and counted calls.
 * Stateful like the real thing: ciphertexts are AES-GCM under per-key material, bound to the key
 * and the encryption context; keys can be disabled. Integration tests use {@link LocalKms} over
 * HTTP instead. Thread-safe.
 */
public final class FakeKmsClient implements KmsClient {
  public static final String ARN_PREFIX = "arn:aws:kms:us-east-1:111122223333:key/";

  private final Map<String, byte[]> material = new ConcurrentHashMap<>();
  private final Map<String, Boolean> disabled = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  public final AtomicLong generateDataKeyCalls = new AtomicLong();
  public final AtomicLong decryptCalls = new AtomicLong();
  public final AtomicLong encryptCalls = new AtomicLong();
  public final AtomicLong reEncryptCalls = new AtomicLong();
  private volatile Duration latency = Duration.ZERO;
  private volatile Supplier<RuntimeException> failure;

  /** Creates an enabled key and returns its ARN. */
  public String createKey(String id) {
    String arn = ARN_PREFIX + id;
    byte[] k = new byte[32];
    random.nextBytes(k);
    material.put(arn, k);
    disabled.put(arn, false);
    return arn;
  }

  /** Disables a key: calls under it then fail with {@code DisabledException}. */
  public void disable(String arn) {
    disabled.put(arn, true);
  }

  /** Enables a key again. */
  public void enable(String arn) {
    disabled.put(arn, false);
  }

  /** Latency added to every call (for benchmarks). */
  public void latency(Duration d) {
    this.latency = d;
  }

  /** Every call fails with what {@code f} supplies, until set to null. */
  public void failWith(Supplier<RuntimeException> f) {
    this.failure = f;
  }

  /** Calls of every operation so far. */
  public long totalCalls() {
    return generateDataKeyCalls.get()
        + decryptCalls.get()
        + encryptCalls.get()
        + reEncryptCalls.get();
  }

  private void common(String arn) {
    if (!latency.isZero()) {
      java.util.concurrent.locks.LockSupport.parkNanos(latency.toNanos());
    }
    Supplier<RuntimeException> f = failure;
    if (f != null) {
      throw f.get();
    }
    if (arn == null || !material.containsKey(arn)) {
      throw NotFoundException.builder().message("not found").build();
    }
    if (disabled.get(arn)) {
      throw DisabledException.builder().message(arn + " is disabled").build();
    }
  }

  private static byte[] aad(String arn, Map<String, String> ctx) {
    StringBuilder sb = new StringBuilder(arn);
    for (Map.Entry<String, String> e : new TreeMap<>(ctx).entrySet()) {
      sb.append('\0').append(e.getKey()).append('\0').append(e.getValue());
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  private byte[] seal(String arn, byte[] pt, Map<String, String> ctx) {
    try {
      byte[] iv = new byte[12];
      random.nextBytes(iv);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(
          Cipher.ENCRYPT_MODE,
          new SecretKeySpec(material.get(arn), "AES"),
          new GCMParameterSpec(128, iv));
      c.updateAAD(aad(arn, ctx));
      byte[] ct = c.doFinal(pt);
      byte[] arnBytes = arn.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(2 + arnBytes.length + 12 + ct.length)
          .putShort((short) arnBytes.length)
          .put(arnBytes)
          .put(iv)
          .put(ct)
          .array();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private record Opened(String arn, byte[] plaintext) {}

  private Opened open(byte[] blob, Map<String, String> ctx) {
    try {
      ByteBuffer b = ByteBuffer.wrap(blob);
      int n = b.getShort() & 0xFFFF;
      byte[] arnBytes = new byte[n];
      b.get(arnBytes);
      String arn = new String(arnBytes, StandardCharsets.UTF_8);
      byte[] iv = new byte[12];
      b.get(iv);
      byte[] ct = new byte[b.remaining()];
      b.get(ct);
      byte[] k = material.get(arn);
      if (k == null) {
        throw InvalidCiphertextException.builder().message("bad blob").build();
      }
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k, "AES"), new GCMParameterSpec(128, iv));
      c.updateAAD(aad(arn, ctx));
      return new Opened(arn, c.doFinal(ct));
    } catch (InvalidCiphertextException e) {
      throw e;
    } catch (Exception e) {
      throw InvalidCiphertextException.builder().message("bad ciphertext").build();
    }
  }

  @Override
  public GenerateDataKeyResponse generateDataKey(GenerateDataKeyRequest r) {
    generateDataKeyCalls.incrementAndGet();
    common(r.keyId());
    byte[] dk = new byte[32];
    random.nextBytes(dk);
    return GenerateDataKeyResponse.builder()
        .keyId(r.keyId())
        .plaintext(SdkBytes.fromByteArray(dk))
        .ciphertextBlob(SdkBytes.fromByteArray(seal(r.keyId(), dk, r.encryptionContext())))
        .build();
  }

  @Override
  public DecryptResponse decrypt(DecryptRequest r) {
    decryptCalls.incrementAndGet();
    common(r.keyId());
    Opened o = open(r.ciphertextBlob().asByteArray(), r.encryptionContext());
    if (!o.arn().equals(r.keyId())) {
      throw IncorrectKeyException.builder().message("incorrect key").build();
    }
    return DecryptResponse.builder()
        .keyId(o.arn())
        .plaintext(SdkBytes.fromByteArray(o.plaintext()))
        .build();
  }

  @Override
  public EncryptResponse encrypt(EncryptRequest r) {
    encryptCalls.incrementAndGet();
    common(r.keyId());
    return EncryptResponse.builder()
        .keyId(r.keyId())
        .ciphertextBlob(
            SdkBytes.fromByteArray(
                seal(r.keyId(), r.plaintext().asByteArray(), r.encryptionContext())))
        .build();
  }

  @Override
  public ReEncryptResponse reEncrypt(ReEncryptRequest r) {
    reEncryptCalls.incrementAndGet();
    common(r.destinationKeyId());
    Opened o = open(r.ciphertextBlob().asByteArray(), r.sourceEncryptionContext());
    common(o.arn());
    return ReEncryptResponse.builder()
        .keyId(r.destinationKeyId())
        .sourceKeyId(o.arn())
        .ciphertextBlob(
            SdkBytes.fromByteArray(
                seal(r.destinationKeyId(), o.plaintext(), r.destinationEncryptionContext())))
        .build();
  }

  @Override
  public String serviceName() {
    return "kms";
  }

  @Override
  public void close() {}
}
