package com.panops.crypto;

import java.time.Duration;
import java.util.Objects;

/**
 * Limits of the data-key cache. Immutable; build with {@link #builder()}.
 *
 * <p>Encrypt side: one data key per (tenant, CMK, key context), reused until it is {@code
 * encryptMaxAge} old, has protected {@code encryptMaxMessages} messages or {@code encryptMaxBytes}
 * bytes, whichever comes first. Decrypt side: data keys keyed by their encrypted form, key context
 * and suite, at most {@code decryptMaxEntries}, each for at most {@code decryptMaxAge}. Hard
 * ceilings, which no setting can exceed, keep nonce safety (docs/FORMAT.md): 2^30 messages and 2^42
 * bytes per data key, and 2^31 frames whatever the configuration.
 *
 * <p>Defaults: 5 minutes, 2^24 messages, 64 GiB, 10,000 entries (encrypt side); 5 minutes, 100,000
 * entries (decrypt side).
 */
public final class CacheSettings {
  public static final long MAX_MESSAGES_CEILING = 1L << 30;
  public static final long MAX_BYTES_CEILING = 1L << 42;
  public static final Duration MAX_AGE_CEILING = Duration.ofHours(24);

  private final Duration encryptMaxAge;
  private final long encryptMaxMessages;
  private final long encryptMaxBytes;
  private final long encryptMaxEntries;
  private final Duration decryptMaxAge;
  private final long decryptMaxEntries;

  private CacheSettings(Builder b) {
    this.encryptMaxAge = b.encryptMaxAge;
    this.encryptMaxMessages = b.encryptMaxMessages;
    this.encryptMaxBytes = b.encryptMaxBytes;
    this.encryptMaxEntries = b.encryptMaxEntries;
    this.decryptMaxAge = b.decryptMaxAge;
    this.decryptMaxEntries = b.decryptMaxEntries;
  }

  /** The defaults. */
  public static CacheSettings defaults() {
    return builder().build();
  }

  /** A builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** How long one data key is used to encrypt. */
  public Duration encryptMaxAge() {
    return encryptMaxAge;
  }

  /** How many messages one data key encrypts at most. */
  public long encryptMaxMessages() {
    return encryptMaxMessages;
  }

  /** How many plaintext bytes one data key encrypts at most. */
  public long encryptMaxBytes() {
    return encryptMaxBytes;
  }

  /** How many encrypt-side data keys are cached at most. */
  public long encryptMaxEntries() {
    return encryptMaxEntries;
  }

  /** How long a decrypted data key is cached. */
  public Duration decryptMaxAge() {
    return decryptMaxAge;
  }

  /** How many decrypt-side data keys are cached at most. */
  public long decryptMaxEntries() {
    return decryptMaxEntries;
  }

  @Override
  public String toString() {
    return "CacheSettings[encryptMaxAge="
        + encryptMaxAge
        + ", encryptMaxMessages="
        + encryptMaxMessages
        + ", encryptMaxBytes="
        + encryptMaxBytes
        + ", encryptMaxEntries="
        + encryptMaxEntries
        + ", decryptMaxAge="
        + decryptMaxAge
        + ", decryptMaxEntries="
        + decryptMaxEntries
        + "]";
  }

  /** Builds {@link CacheSettings}; every setter checks its argument. Not thread-safe. */
  public static final class Builder {
    private Duration encryptMaxAge = Duration.ofMinutes(5);
    private long encryptMaxMessages = 1L << 24;
    private long encryptMaxBytes = 1L << 36;
    private long encryptMaxEntries = 10_000;
    private Duration decryptMaxAge = Duration.ofMinutes(5);
    private long decryptMaxEntries = 100_000;

    private Builder() {}

    private static Duration age(Duration d, String what) {
      Objects.requireNonNull(d, what);
      if (d.isNegative() || d.isZero() || d.compareTo(MAX_AGE_CEILING) > 0) {
        throw new IllegalArgumentException(what + " must be > 0 and <= " + MAX_AGE_CEILING);
      }
      return d;
    }

    private static long positive(long v, long ceiling, String what) {
      if (v < 1 || v > ceiling) {
        throw new IllegalArgumentException(what + " must be 1.." + ceiling + ", was " + v);
      }
      return v;
    }

    /** Encrypt-side maximum age: more than zero, at most 24 hours. */
    public Builder encryptMaxAge(Duration d) {
      this.encryptMaxAge = age(d, "encryptMaxAge");
      return this;
    }

    /** Encrypt-side maximum messages per data key: 1 .. 2^30. */
    public Builder encryptMaxMessages(long n) {
      this.encryptMaxMessages = positive(n, MAX_MESSAGES_CEILING, "encryptMaxMessages");
      return this;
    }

    /** Encrypt-side maximum plaintext bytes per data key: 1 .. 2^42. */
    public Builder encryptMaxBytes(long n) {
      this.encryptMaxBytes = positive(n, MAX_BYTES_CEILING, "encryptMaxBytes");
      return this;
    }

    /** Encrypt-side cache size: 1 .. 2^31-1 entries. */
    public Builder encryptMaxEntries(long n) {
      this.encryptMaxEntries = positive(n, Integer.MAX_VALUE, "encryptMaxEntries");
      return this;
    }

    /** Decrypt-side maximum age: more than zero, at most 24 hours. */
    public Builder decryptMaxAge(Duration d) {
      this.decryptMaxAge = age(d, "decryptMaxAge");
      return this;
    }

    /** Decrypt-side cache size: 1 .. 2^31-1 entries. */
    public Builder decryptMaxEntries(long n) {
      this.decryptMaxEntries = positive(n, Integer.MAX_VALUE, "decryptMaxEntries");
      return this;
    }

    /** The immutable settings. */
    public CacheSettings build() {
      return new CacheSettings(this);
    }
  }
}
