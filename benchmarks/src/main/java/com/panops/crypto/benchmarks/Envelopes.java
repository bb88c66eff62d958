package com.panops.crypto.benchmarks;

import com.amazonaws.encryptionsdk.AwsCrypto;
import com.amazonaws.encryptionsdk.CommitmentPolicy;
import com.amazonaws.encryptionsdk.CryptoAlgorithm;
import com.amazonaws.encryptionsdk.CryptoMaterialsManager;
import com.amazonaws.encryptionsdk.caching.CachingCryptoMaterialsManager;
import com.amazonaws.encryptionsdk.caching.LocalCryptoMaterialsCache;
import com.amazonaws.encryptionsdk.kmssdkv2.KmsMasterKeyProvider;
import com.google.crypto.tink.Aead;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.AesGcmParameters;
import com.google.crypto.tink.aead.KmsEnvelopeAead;
import com.panops.crypto.CacheSettings;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.cryptography.materialproviders.IKeyring;
import software.amazon.cryptography.materialproviders.MaterialProviders;
import software.amazon.cryptography.materialproviders.model.CreateAwsKmsKeyringInput;
import software.amazon.cryptography.materialproviders.model.MaterialProvidersConfig;

/** Builds each {@link Envelope.Impl} over a {@link Fixtures.Kms}. */
public final class Envelopes {
  private Envelopes() {}

  /**
   * A new instance of {@code impl} (for {@link Envelope.Impl#RAW_GCM} and {@link
   * Envelope.Impl#RAW_GCM_ACCP}, with a fixed key and no KMS). {@code panops} is used for {@link
   * Envelope.Impl#OURS}, {@link Envelope.Impl#OURS_STREAM} and {@link Envelope.Impl#OURS_ACCP} when
   * not null (it must then have been built for the implementation); otherwise a new one is built
   * over {@code kms}.
   */
  public static Envelope create(Envelope.Impl impl, Fixtures.Kms kms, PanopsCrypto panops)
      throws GeneralSecurityException {
    switch (impl) {
      case OURS:
      case OURS_STREAM:
        if (panops != null) {
          return ours(panops.tenant(Fixtures.TENANT), null);
        }
        PanopsCrypto own = Fixtures.panops(kms, null);
        return ours(own.tenant(Fixtures.TENANT), own);
      case OURS_ACCP:
        if (panops != null) {
          return ours(panops.tenant(Fixtures.TENANT), null);
        }
        PanopsCrypto onAccp = Fixtures.panops(kms, null, Fixtures.accp());
        return ours(onAccp.tenant(Fixtures.TENANT), onAccp);
      case RAW_GCM:
        return new RawGcm(FIXED_KEY, null);
      case RAW_GCM_ACCP:
        return new RawGcm(FIXED_KEY, Fixtures.accp());
      case ESDK_CACHING:
        return esdkCaching(kms, 0);
      case ESDK_CACHING_64K:
        return esdkCaching(kms, 64 * 1024);
      case ESDK_STREAM:
        return esdkStream(kms);
      case ESDK_KEYRING:
        return esdkKeyring(kms);
      case TINK:
        return tink(kms);
      default:
        throw new AssertionError(impl);
    }
  }

  // ------------------------------------------------------------------ panops-crypto

  static Envelope ours(TenantCrypto t, PanopsCrypto owned) {
    return new Envelope() {
      @Override
      public void close() {
        if (owned != null) {
          owned.close();
        }
      }

      @Override
      public byte[] encrypt(byte[] plaintext) {
        return t.encrypt(plaintext, Fixtures.KEY_CONTEXT, Fixtures.AAD);
      }

      @Override
      public byte[] decrypt(byte[] ciphertext) {
        return t.decrypt(ciphertext, Fixtures.KEY_CONTEXT, Fixtures.AAD);
      }
    };
  }

  // ------------------------------------------------------------------ raw JDK GCM

  private static final SecretKey FIXED_KEY = new SecretKeySpec(new byte[32], "AES");

  /**
   * {@code iv || AES-256-GCM(ciphertext || tag)} with a random 96-bit IV from a per-instance DRBG
   * drawn 64 IVs at a time (the default {@code SecureRandom} has a global lock, and one DRBG call
   * per IV costs about as much as a 1 KiB encryption) and a per-instance {@code Cipher}: what an
   * application encrypting with one fixed key would do at best — the ceiling. Not thread-safe: one
   * per thread. {@code provider} {@code null}: the JCA's choice (SunJCE unless the application
   * installed another).
   */
  static final class RawGcm implements Envelope {
    private final SecretKey key;
    private final Cipher cipher;
    private final SecureRandom random;
    private final byte[] iv = new byte[12];
    private final byte[] pool = new byte[768];
    private int poolPos = pool.length;

    RawGcm(SecretKey key, java.security.Provider provider) throws GeneralSecurityException {
      this.key = key;
      this.cipher =
          provider == null
              ? Cipher.getInstance("AES/GCM/NoPadding")
              : Cipher.getInstance("AES/GCM/NoPadding", provider);
      this.random = SecureRandom.getInstance("DRBG");
    }

    @Override
    public byte[] encrypt(byte[] plaintext) throws GeneralSecurityException {
      if (poolPos == pool.length) {
        random.nextBytes(pool); // 64 IVs per DRBG call: one call per IV would cost 0.8 µs each
        poolPos = 0;
      }
      System.arraycopy(pool, poolPos, iv, 0, 12);
      poolPos += 12;
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, iv));
      cipher.updateAAD(Fixtures.CONTEXT_BYTES);
      byte[] out = new byte[12 + plaintext.length + 16];
      System.arraycopy(iv, 0, out, 0, 12);
      cipher.doFinal(plaintext, 0, plaintext.length, out, 12);
      return out;
    }

    @Override
    public byte[] decrypt(byte[] ciphertext) throws GeneralSecurityException {
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, ciphertext, 0, 12));
      cipher.updateAAD(Fixtures.CONTEXT_BYTES);
      return cipher.doFinal(ciphertext, 12, ciphertext.length - 12);
    }
  }

  // ------------------------------------------------------------------ AWS Encryption SDK

  /** The SDK configured with the suite closest to ours: committing, no signature. */
  static AwsCrypto awsCrypto() {
    return awsCrypto(0);
  }

  /** As {@link #awsCrypto()}, with {@code frameSize} bytes per frame (0: the SDK's default). */
  static AwsCrypto awsCrypto(int frameSize) {
    AwsCrypto.Builder b =
        AwsCrypto.builder()
            .withCommitmentPolicy(CommitmentPolicy.RequireEncryptRequireDecrypt)
            .withEncryptionAlgorithm(CryptoAlgorithm.ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY);
    if (frameSize > 0) {
      b.withEncryptionFrameSize(frameSize);
    }
    return b.build();
  }

  /**
   * The legacy caching CMM over the fake's CMK with {@code capacity} entries and panops-crypto's
   * default limits (5 minutes, 2^24 messages, 64 GiB per data key), sharing {@code cache} if not
   * null.
   */
  static CryptoMaterialsManager esdkCachingCmm(
      KmsClient kms, String arn, LocalCryptoMaterialsCache cache, String partition) {
    KmsMasterKeyProvider provider =
        KmsMasterKeyProvider.builder()
            .customRegionalClientSupplier(region -> kms)
            .defaultRegion(Region.US_EAST_1)
            .buildStrict(arn);
    CacheSettings ours = CacheSettings.defaults();
    CachingCryptoMaterialsManager.Builder b =
        CachingCryptoMaterialsManager.newBuilder()
            .withMasterKeyProvider(provider)
            .withCache(cache)
            .withMaxAge(ours.encryptMaxAge().toMillis(), TimeUnit.MILLISECONDS)
            .withMessageUseLimit(ours.encryptMaxMessages())
            .withByteUseLimit(ours.encryptMaxBytes());
    if (partition != null) {
      b.withPartitionId(partition);
    }
    return b.build();
  }

  /**
   * The caching CMM (64 KiB frames) through the SDK's streaming API: {@code createEncryptingStream}
   * / {@code createDecryptingStream} over in-memory streams.
   */
  static Envelope esdkStream(Fixtures.Kms kms) {
    AwsCrypto crypto = awsCrypto(64 * 1024);
    CryptoMaterialsManager cmm =
        esdkCachingCmm(kms.client(), kms.arn(), new LocalCryptoMaterialsCache(1000), null);
    return new Envelope() {
      @Override
      public byte[] encrypt(byte[] plaintext) throws java.io.IOException {
        java.io.ByteArrayOutputStream sink =
            new java.io.ByteArrayOutputStream(plaintext.length + 1024);
        try (java.io.OutputStream out =
            crypto.createEncryptingStream(cmm, sink, Fixtures.CONTEXT)) {
          out.write(plaintext);
        }
        return sink.toByteArray();
      }

      @Override
      public byte[] decrypt(byte[] ciphertext) throws java.io.IOException {
        try (java.io.InputStream in =
            crypto.createDecryptingStream(cmm, new java.io.ByteArrayInputStream(ciphertext))) {
          return in.readAllBytes();
        }
      }

      @Override
      public java.io.OutputStream encryptingStream(java.io.OutputStream sink) {
        return crypto.createEncryptingStream(cmm, sink, Fixtures.CONTEXT);
      }

      @Override
      public java.io.InputStream decryptingStream(java.io.InputStream source) {
        return crypto.createDecryptingStream(cmm, source);
      }
    };
  }

  /**
   * The legacy caching CMM (a {@link LocalCryptoMaterialsCache}) over the SDK-v2 KMS master key
   * provider whose client supplier returns the fake, with panops-crypto's default limits (5
   * minutes, 2^24 messages, 64 GiB per data key); {@code frameSize} 0 is the SDK's default (4 KiB),
   * else that many bytes per frame.
   */
  static Envelope esdkCaching(Fixtures.Kms kms, int frameSize) {
    AwsCrypto crypto = awsCrypto(frameSize);
    CryptoMaterialsManager cmm =
        esdkCachingCmm(kms.client(), kms.arn(), new LocalCryptoMaterialsCache(1000), null);
    return new Envelope() {
      @Override
      public byte[] encrypt(byte[] plaintext) {
        return crypto.encryptData(cmm, plaintext, Fixtures.CONTEXT).getResult();
      }

      @Override
      public byte[] decrypt(byte[] ciphertext) {
        return crypto.decryptData(cmm, ciphertext).getResult();
      }
    };
  }

  /** The AWS KMS keyring of the Material Providers Library over the fake client, no cache. */
  static Envelope esdkKeyring(Fixtures.Kms kms) {
    AwsCrypto crypto = awsCrypto();
    MaterialProviders mpl =
        MaterialProviders.builder()
            .MaterialProvidersConfig(MaterialProvidersConfig.builder().build())
            .build();
    IKeyring keyring =
        mpl.CreateAwsKmsKeyring(
            CreateAwsKmsKeyringInput.builder().kmsKeyId(kms.arn()).kmsClient(kms.client()).build());
    return new Envelope() {
      @Override
      public byte[] encrypt(byte[] plaintext) {
        return crypto.encryptData(keyring, plaintext, Fixtures.CONTEXT).getResult();
      }

      @Override
      public byte[] decrypt(byte[] ciphertext) {
        return crypto.decryptData(keyring, ciphertext, Fixtures.CONTEXT).getResult();
      }
    };
  }

  // ------------------------------------------------------------------ Tink

  static {
    try {
      AeadConfig.register();
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /**
   * Tink's {@code KmsEnvelopeAead} with AES-256-GCM data keys (no output prefix) over {@link
   * KmsAead}: a fresh data key and one KMS {@code Encrypt} per message, one {@code Decrypt} per
   * decryption, by design.
   */
  static Envelope tink(Fixtures.Kms kms) throws GeneralSecurityException {
    AesGcmParameters dek =
        AesGcmParameters.builder()
            .setKeySizeBytes(32)
            .setIvSizeBytes(12)
            .setTagSizeBytes(16)
            .setVariant(AesGcmParameters.Variant.NO_PREFIX)
            .build();
    Aead aead = KmsEnvelopeAead.create(dek, new KmsAead(kms.client(), kms.arn()));
    return new Envelope() {
      @Override
      public byte[] encrypt(byte[] plaintext) throws GeneralSecurityException {
        return aead.encrypt(plaintext, Fixtures.CONTEXT_BYTES);
      }

      @Override
      public byte[] decrypt(byte[] ciphertext) throws GeneralSecurityException {
        return aead.decrypt(ciphertext, Fixtures.CONTEXT_BYTES);
      }
    };
  }

  /**
   * A Tink remote {@link Aead} over an SDK-v2 {@link KmsClient}, as Tink's own {@code AwsKmsAead}
   * does it (which is written for SDK v1): {@code Encrypt}/{@code Decrypt} under one key, the
   * associated data (if any) as the hex value of encryption context key {@code associatedData}.
   */
  record KmsAead(KmsClient kms, String keyArn) implements Aead {
    private static Map<String, String> context(byte[] ad) {
      return ad == null || ad.length == 0
          ? Map.of()
          : Map.of("associatedData", HexFormat.of().formatHex(ad));
    }

    @Override
    public byte[] encrypt(byte[] plaintext, byte[] associatedData) {
      return kms.encrypt(
              r ->
                  r.keyId(keyArn)
                      .plaintext(SdkBytes.fromByteArrayUnsafe(plaintext))
                      .encryptionContext(context(associatedData)))
          .ciphertextBlob()
          .asByteArrayUnsafe();
    }

    @Override
    public byte[] decrypt(byte[] ciphertext, byte[] associatedData)
        throws GeneralSecurityException {
      DecryptResponse r =
          kms.decrypt(
              b ->
                  b.keyId(keyArn)
                      .ciphertextBlob(SdkBytes.fromByteArrayUnsafe(ciphertext))
                      .encryptionContext(context(associatedData)));
      if (!keyArn.equals(r.keyId())) {
        throw new GeneralSecurityException("decrypted under another key");
      }
      return r.plaintext().asByteArrayUnsafe();
    }
  }
}
