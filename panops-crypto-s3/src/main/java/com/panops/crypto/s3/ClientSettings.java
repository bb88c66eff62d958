package com.panops.crypto.s3;

import com.panops.crypto.KeyContext;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import java.util.function.Supplier;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The settings of one {@link EncryptingS3Client}, checked: what its builder collected, with the
 * tenant resolved to a source of its keys and the multipart sizes consistent. Immutable.
 */
record ClientSettings(
    Supplier<TenantCrypto> tenants,
    KeyContext keyContext,
    boolean sseKms,
    boolean legacyPlaintextReads,
    long multipartThreshold,
    long partSize) {

  /** The key context of requests that set none: coarse, since it selects the cached data key. */
  static final KeyContext DEFAULT_KEY_CONTEXT = KeyContext.of("service", "s3");

  /**
   * 100 MiB, AWS's own guidance for when multipart starts to pay: parts go up one after the other
   * from one encryption stream, so below that multipart only adds requests (measured on S3Mock: 64
   * MiB in 8 parts took twice as long as one streamed PutObject).
   */
  static final long DEFAULT_MULTIPART_THRESHOLD = 100L * 1024 * 1024;

  static final long DEFAULT_PART_SIZE = 8L * 1024 * 1024;

  /**
   * @throws IllegalStateException if the threshold is below the part size
   */
  ClientSettings {
    if (multipartThreshold < partSize) {
      throw new IllegalStateException("multipart threshold must be at least the part size");
    }
  }

  /** {@code bytes} if it is a valid multipart threshold (5 MiB .. 5 GiB). */
  static long checkMultipartThreshold(long bytes) {
    if (bytes < S3Path.MIN_PART || bytes > S3Path.MAX_SINGLE_PUT) {
      throw new IllegalArgumentException("multipart threshold must be 5 MiB .. 5 GiB");
    }
    return bytes;
  }

  /** {@code bytes} if it is a valid multipart part size (5 MiB .. 512 MiB). */
  static long checkPartSize(long bytes) {
    if (bytes < S3Path.MIN_PART || bytes > S3Path.MAX_PART) {
      throw new IllegalArgumentException("part size must be 5 MiB .. 512 MiB");
    }
    return bytes;
  }

  /**
   * Where each operation gets the tenant's keys: the fixed {@code tenantCrypto}, or else {@code
   * crypto}'s directory entry for {@code tenantId}, looked up on every call so a key rotation is
   * seen at once. The tenant is looked up once here, so an unknown tenant fails now.
   *
   * @throws IllegalStateException unless exactly one of {@code tenantCrypto} and {@code
   *     crypto}+{@code tenantId} is given
   */
  static Supplier<TenantCrypto> tenantSource(
      PanopsCrypto crypto, String tenantId, TenantCrypto tenantCrypto) {
    if (tenantCrypto != null) {
      if (crypto != null || tenantId != null) {
        throw new IllegalStateException(
            "exactly one of tenantCrypto and crypto+tenant must be set");
      }
      return () -> tenantCrypto;
    }
    if (crypto == null || tenantId == null) {
      throw new IllegalStateException("exactly one of tenantCrypto and crypto+tenant must be set");
    }
    crypto.tenant(tenantId); // fails now if the tenant is unknown
    return () -> crypto.tenant(tenantId);
  }

  /** The write path over {@code s3} with these settings; the other paths share its settings. */
  PutPath putPath(S3Client s3) {
    return new PutPath(s3, this);
  }

  @Override
  public String toString() {
    return "sseKms="
        + sseKms
        + ", legacyPlaintextReads="
        + legacyPlaintextReads
        + ", multipartThreshold="
        + multipartThreshold
        + ", partSize="
        + partSize
        + ", keyContext="
        + keyContext;
  }
}
