package com.panops.crypto.benchmarks;

/**
 * One implementation under test, reduced to what the benchmarks compare: a whole message in, a
 * whole message out. Instances of {@link Impl#RAW_GCM} and {@link Impl#RAW_GCM_ACCP} are per
 * thread; all others are shared.
 */
public interface Envelope extends AutoCloseable {
  byte[] encrypt(byte[] plaintext) throws Exception;

  byte[] decrypt(byte[] ciphertext) throws Exception;

  /** A stream encrypting into {@code sink} (implementations with a streaming API only). */
  default java.io.OutputStream encryptingStream(java.io.OutputStream sink) throws Exception {
    throw new UnsupportedOperationException();
  }

  /** A stream of the plaintext of the message in {@code source} (streaming API only). */
  default java.io.InputStream decryptingStream(java.io.InputStream source) throws Exception {
    throw new UnsupportedOperationException();
  }

  /** Releases what the instance owns (a {@code PanopsCrypto} it built). */
  @Override
  default void close() {}

  /** The implementations, by the prefix of their benchmark methods. */
  enum Impl {
    /** panops-crypto, {@code byte[]} API, warm data-key cache. */
    OURS("ours"),
    /** panops-crypto's streaming API (the {@code Envelope} form is only used for set-up). */
    OURS_STREAM("oursStream"),
    /** {@code AES/GCM/NoPadding} with a fixed key, random 96-bit IV: the ceiling. */
    RAW_GCM("rawGcm"),
    /** The same on the Amazon Corretto Crypto Provider (ACCP): the ceiling on that provider. */
    RAW_GCM_ACCP("rawGcmAccp"),
    /** panops-crypto, {@code byte[]} API, with {@code cipherProvider(ACCP)}. */
    OURS_ACCP("oursAccp"),
    /** AWS Encryption SDK 3.x, legacy caching CMM over the SDK-v2 KMS master key provider. */
    ESDK_CACHING("esdkCaching"),
    /** The same caching CMM, the SDK configured with 64 KiB frames (ours). */
    ESDK_CACHING_64K("esdkCaching64k"),
    /** The same caching CMM and 64 KiB frames, through the SDK's streaming API. */
    ESDK_STREAM("esdkStream"),
    /** AWS Encryption SDK 3.x with the MPL AWS KMS keyring, no cache. */
    ESDK_KEYRING("esdkKeyring"),
    /** Google Tink's {@code KmsEnvelopeAead} (AES-256-GCM data keys), KMS per message. */
    TINK("tink");

    public final String prefix;

    Impl(String prefix) {
      this.prefix = prefix;
    }

    /** Whether this implementation is raw AES-GCM (one instance per thread). */
    public boolean isRawGcm() {
      return this == RAW_GCM || this == RAW_GCM_ACCP;
    }

    /** Whether this implementation is panops-crypto built by the benchmark itself. */
    public boolean isOurs() {
      return this == OURS || this == OURS_STREAM || this == OURS_ACCP;
    }

    /** The implementation a benchmark method (simple or fully qualified name) measures. */
    public static Impl ofMethod(String method) {
      String m = method.substring(method.lastIndexOf('.') + 1);
      Impl best = null;
      for (Impl i : values()) {
        if (m.startsWith(i.prefix) && (best == null || i.prefix.length() > best.prefix.length())) {
          best = i;
        }
      }
      if (best == null) {
        throw new IllegalArgumentException("no implementation for method " + method);
      }
      return best;
    }
  }
}
