package com.panops.crypto.benchmarks;

/**
 * One implementation under test, reduced to what the benchmarks compare: a whole message in, a
 * whole message out. Instances of {@link Impl#RAW_GCM} are per thread; all others are shared.
 */
public interface Envelope extends AutoCloseable {
  byte[] encrypt(byte[] plaintext) throws Exception;

  byte[] decrypt(byte[] ciphertext) throws Exception;

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
    /** AWS Encryption SDK 3.x, legacy caching CMM over the SDK-v2 KMS master key provider. */
    ESDK_CACHING("esdkCaching"),
    /** AWS Encryption SDK 3.x with the MPL AWS KMS keyring, no cache. */
    ESDK_KEYRING("esdkKeyring"),
    /** Google Tink's {@code KmsEnvelopeAead} (AES-256-GCM data keys), KMS per message. */
    TINK("tink");

    public final String prefix;

    Impl(String prefix) {
      this.prefix = prefix;
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
