package com.panops.crypto.s3;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCryptoException;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.MessageHeader;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.GetObjectTaggingResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.Tag;

/**
 * What every path of {@link EncryptingS3Client} shares: the wrapped client and the settings, the
 * per-request key context and AAD ({@link Ctx}), the first-16-KiB header fetch ({@link Prefix}),
 * tags, the bookkeeping of response streams to abort on failure ({@link OpenedStreams}), and the
 * mapping of core exceptions. Each operation's logic lives in its own subclass: {@link PutPath},
 * {@link GetPath}, {@link CopyPath}, {@link RewrapPath}. Immutable; thread-safe like the client.
 */
abstract class S3Path {
  final S3Client s3;
  final Supplier<TenantCrypto> tenant;
  final KeyContext defaultKeyContext;
  final boolean sseKms;
  final boolean legacyPlaintextReads;
  final long multipartThreshold;
  final long partSize;

  S3Path(
      S3Client s3,
      Supplier<TenantCrypto> tenant,
      KeyContext defaultKeyContext,
      boolean sseKms,
      boolean legacyPlaintextReads,
      long multipartThreshold,
      long partSize) {
    this.s3 = s3;
    this.tenant = tenant;
    this.defaultKeyContext = defaultKeyContext;
    this.sseKms = sseKms;
    this.legacyPlaintextReads = legacyPlaintextReads;
    this.multipartThreshold = multipartThreshold;
    this.partSize = partSize;
  }

  /** The same settings as {@code other}. */
  S3Path(S3Path other) {
    this(
        other.s3,
        other.tenant,
        other.defaultKeyContext,
        other.sseKms,
        other.legacyPlaintextReads,
        other.multipartThreshold,
        other.partSize);
  }

  /**
   * Bytes fetched first by a ranged read and a re-wrap: more than the largest header ({@code
   * MessageFormat.MAX_HEADER_LENGTH}, 8506 bytes).
   */
  static final int PREFIX_FETCH = 16 * 1024;

  static final long MIN_PART = 5L * 1024 * 1024;
  static final long MAX_PART = 512L * 1024 * 1024;
  static final long MAX_SINGLE_PUT = 5L * 1024 * 1024 * 1024;
  static final int MAX_PARTS = 10_000;

  /** Opens the ciphertext stream again for an SDK retry. */
  @FunctionalInterface
  interface Reopen {
    InputStream open() throws IOException;
  }

  /** The first bytes of an object: its header and layout, or a null layout for plaintext. */
  static final class Prefix {
    GetObjectResponse response;
    byte[] bytes;
    ObjectLayout layout;
    MessageHeader header;
    long ciphertextLength;
    long plaintextLength;
  }

  Prefix fetchPrefix(GetObjectRequest request) {
    GetObjectRequest first =
        request.toBuilder()
            .range("bytes=0-" + (PREFIX_FETCH - 1))
            .checksumMode((String) null)
            .build();
    ResponseInputStream<GetObjectResponse> got;
    try {
      got = s3.getObject(first);
    } catch (S3Exception e) {
      if (e.statusCode() == 416) {
        return new Prefix(); // an empty object: no panops object is empty, so plaintext
      }
      throw e;
    }
    Prefix p = new Prefix();
    p.response = got.response();
    // at most PREFIX_FETCH bytes, even from a store that ignores Range and sends everything
    try {
      p.bytes = got.readNBytes(PREFIX_FETCH);
      if (got.read() >= 0) {
        got.abort();
      }
    } catch (IOException e) {
      got.abort();
      throw SdkClientException.create("could not read the object: " + e.getMessage(), e);
    } finally {
      closeQuietly(got);
    }
    try {
      p.layout = ObjectLayout.of(p.response.metadata());
      if (p.layout == null) {
        return p;
      }
      Long total = totalLength(p.response);
      if (total == null) {
        throw Errors.integrity();
      }
      p.ciphertextLength = total;
      p.header = MessageHeader.parse(p.bytes, 0, p.bytes.length);
      p.plaintextLength = p.layout.check(p.header, total);
      return p;
    } catch (RuntimeException e) {
      throw unwrap(e);
    }
  }

  /** The object's total length from a ranged response's Content-Range (or a full response). */
  static Long totalLength(GetObjectResponse r) {
    String cr = r.contentRange();
    if (cr == null) {
      return r.contentLength();
    }
    int slash = cr.lastIndexOf('/');
    if (slash < 0) {
      return null;
    }
    String t = cr.substring(slash + 1).trim();
    if (t.isEmpty() || t.length() > 18 || !t.chars().allMatch(ch -> ch >= '0' && ch <= '9')) {
      return null;
    }
    return Long.parseLong(t);
  }

  /**
   * The object's tags as a {@code tagging} header value, or null for none. S3 reports {@code
   * x-amz-tagging-count} only when the object has tags and the caller may read them, so a count of
   * 0 means none, while an absent count is ambiguous (no tags, no permission, or a store that does
   * not report it): then {@code GetObjectTagging} is asked, and a store that does not implement
   * tagging (501 NotImplemented) has none. Any other failure (such as AccessDenied) propagates:
   * tags are never dropped silently.
   */
  String tagsOf(
      String bucket,
      String key,
      String versionId,
      Integer tagCount,
      Optional<AwsRequestOverrideConfiguration> oc) {
    if (tagCount != null && tagCount == 0) {
      return null;
    }
    GetObjectTaggingResponse tags;
    try {
      tags =
          s3.getObjectTagging(
              r ->
                  r.bucket(bucket)
                      .key(key)
                      .versionId(versionId)
                      .overrideConfiguration(oc.orElse(null)));
    } catch (S3Exception e) {
      boolean notImplemented =
          e.statusCode() == 501
              || (e.awsErrorDetails() != null
                  && "NotImplemented".equals(e.awsErrorDetails().errorCode()));
      if (notImplemented && tagCount == null) {
        return null; // a store without object tagging
      }
      throw e;
    }
    StringBuilder sb = new StringBuilder();
    for (Tag t : tags.tagSet()) {
      if (sb.length() > 0) {
        sb.append('&');
      }
      sb.append(URLEncoder.encode(t.key(), StandardCharsets.UTF_8))
          .append('=')
          .append(URLEncoder.encode(t.value(), StandardCharsets.UTF_8));
    }
    return sb.length() == 0 ? null : sb.toString();
  }

  /**
   * The response streams one operation opened: on success the last is closed (it was read to its
   * end) and any earlier ones, left behind by retried attempts, are aborted; on failure every one
   * is aborted, so none drains the rest of an object or keeps a pooled connection.
   */
  static final class OpenedStreams {
    private final List<ResponseInputStream<?>> streams = new ArrayList<>();

    synchronized <T extends ResponseInputStream<?>> T add(T in) {
      streams.add(in);
      return in;
    }

    synchronized void closeAll() {
      for (int i = 0; i < streams.size(); i++) {
        ResponseInputStream<?> in = streams.get(i);
        if (i < streams.size() - 1) {
          in.abort();
        }
        closeQuietly(in);
      }
      streams.clear();
    }

    synchronized void abortAll() {
      for (ResponseInputStream<?> in : streams) {
        in.abort();
        closeQuietly(in);
      }
      streams.clear();
    }
  }

  // =================================================================== helpers

  /** The key context and message AAD of one request. */
  static final class Ctx {
    final KeyContext keyContext;
    final MessageAad aad;

    Ctx(KeyContext keyContext, MessageAad aad) {
      this.keyContext = keyContext;
      this.aad = aad;
    }
  }

  Ctx ctx(Optional<AwsRequestOverrideConfiguration> oc, String bucket, String key) {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(key, "key");
    KeyContext kc = defaultKeyContext;
    MessageAad aad =
        MessageAad.of(EncryptingS3Client.AAD_BUCKET, bucket, EncryptingS3Client.AAD_KEY, key);
    if (oc.isPresent()) {
      ExecutionAttributes a = oc.get().executionAttributes();
      KeyContext k = a.getAttribute(RequestEncryption.KEY_CONTEXT);
      if (k != null) {
        kc = k;
      }
      MessageAad extra = a.getAttribute(RequestEncryption.EXTRA_AAD);
      if (extra != null) {
        for (String name : extra.asMap().keySet()) {
          if (name.toLowerCase(Locale.ROOT).startsWith("panops:")) {
            throw new IllegalArgumentException("message AAD key is reserved: " + name);
          }
        }
        aad = aad.with(extra);
      }
    }
    return new Ctx(kc, aad);
  }

  static S3EncryptionException notEncrypted() {
    return new S3EncryptionException(
        "object is not encrypted by panops-crypto; refusing to return it as plaintext (see"
            + " allowLegacyPlaintextReads())");
  }

  /** Maps a core exception found in {@code e} or its causes; otherwise returns {@code e}. */
  static RuntimeException unwrap(RuntimeException e) {
    if (e instanceof S3EncryptionException) {
      return e;
    }
    RuntimeException found = causeOf(e);
    return found != null ? found : e;
  }

  /** The adapter's exception for the first core or adapter exception among the causes, or null. */
  static RuntimeException causeOf(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof S3EncryptionException) {
        return (S3EncryptionException) t;
      }
      if (t instanceof PanopsCryptoException) {
        return Errors.map((PanopsCryptoException) t);
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return e instanceof SdkException ? (SdkException) e : null;
  }

  static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException | RuntimeException ignored) {
      // already failing
    }
  }
}
