package com.panops.crypto.s3;

import java.util.Locale;
import software.amazon.awssdk.core.SdkField;
import software.amazon.awssdk.core.SdkPojo;

/**
 * Checksum fields of SDK requests and responses, found by their wire names rather than listed by
 * hand, so an algorithm added to a later SDK (as SHA-512, MD5 and the XXHASH family were) is
 * covered without a change here: a request field is a checksum if its header is {@code
 * x-amz-checksum-*} or {@code Content-MD5}; a multipart part's checksum members are named {@code
 * Checksum*}.
 */
final class Checksums {
  private Checksums() {}

  /** Whether a header field carries a checksum (or the checksum type) of the body. */
  static boolean isChecksumHeader(SdkField<?> f) {
    String n = f.locationName();
    if (n == null) {
      return false;
    }
    n = n.toLowerCase(Locale.ROOT);
    return n.startsWith("x-amz-checksum-") || n.equals("content-md5");
  }

  /** The first checksum field set on {@code request}, by its member name, or null if none. */
  static String firstSet(SdkPojo request) {
    for (SdkField<?> f : request.sdkFields()) {
      if (isChecksumHeader(f) && f.getValueOrDefault(request) != null) {
        return f.memberName();
      }
    }
    return null;
  }

  /**
   * Clears on {@code builder} (a builder of {@code model}'s type) every checksum field: they are
   * the stored ciphertext's, not the plaintext's.
   */
  static void clear(SdkPojo model, Object builder) {
    for (SdkField<?> f : model.sdkFields()) {
      if (isChecksumHeader(f)) {
        f.set(builder, null);
      }
    }
  }

  /**
   * Copies every {@code Checksum*} member of {@code from} (an {@code UploadPartResponse}) that
   * {@code to} (a {@code CompletedPart}, given with its builder) also has.
   */
  static void copyPartChecksums(SdkPojo from, SdkPojo toModel, Object toBuilder) {
    for (SdkField<?> target : toModel.sdkFields()) {
      String name = target.memberName();
      if (!name.startsWith("Checksum") || name.equals("ChecksumType")) {
        continue;
      }
      for (SdkField<?> source : from.sdkFields()) {
        if (source.memberName().equals(name)) {
          target.set(toBuilder, source.getValueOrDefault(from));
        }
      }
    }
  }
}
