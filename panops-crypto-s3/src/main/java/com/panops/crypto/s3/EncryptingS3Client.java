package com.panops.crypto.s3;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.PanopsCryptoException;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.MessageHeader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.services.s3.DelegatingS3Client;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.BucketVersioningStatus;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CopyObjectRequest;
import software.amazon.awssdk.services.s3.model.CopyObjectResponse;
import software.amazon.awssdk.services.s3.model.CopyObjectResult;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.GetObjectTaggingResponse;
import software.amazon.awssdk.services.s3.model.GetObjectTorrentRequest;
import software.amazon.awssdk.services.s3.model.GetObjectTorrentResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.MetadataDirective;
import software.amazon.awssdk.services.s3.model.ObjectVersion;
import software.amazon.awssdk.services.s3.model.PutObjectAnnotationRequest;
import software.amazon.awssdk.services.s3.model.PutObjectAnnotationResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.RenameObjectRequest;
import software.amazon.awssdk.services.s3.model.RenameObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.Tag;
import software.amazon.awssdk.services.s3.model.TaggingDirective;
import software.amazon.awssdk.services.s3.model.UploadPartCopyRequest;
import software.amazon.awssdk.services.s3.model.UploadPartCopyResponse;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;
import software.amazon.awssdk.services.s3.model.WriteGetObjectResponseRequest;
import software.amazon.awssdk.services.s3.model.WriteGetObjectResponseResponse;

/**
 * An {@link S3Client} that encrypts object bodies for one tenant on write and authenticates and
 * decrypts them on read, with panops-crypto's framed format, under the tenant's customer master
 * key. It decorates a ready-built client (the SDK's {@link DelegatingS3Client}): operations it does
 * not override pass through unchanged.
 *
 * <pre>{@code
 * S3Client s3 = EncryptingS3Client.builder()
 *     .s3Client(S3Client.create())
 *     .crypto(panopsCrypto)
 *     .tenant("acme")
 *     .keyContext(KeyContext.of("class", "mail"))
 *     .sseKms(true)
 *     .build();
 * s3.putObject(r -> r.bucket("b").key("k"), RequestBody.fromFile(path));   // streamed, any size
 * try (ResponseInputStream<GetObjectResponse> in = s3.getObject(r -> r.bucket("b").key("k"))) {
 *   in.transferTo(out);                                                   // frame by frame
 * }
 * }</pre>
 *
 * <h2>Design</h2>
 *
 * <p>Each object body is one panops message ({@code header || frames}, see {@code docs/FORMAT.md})
 * whose message AAD binds it to its bucket and key ({@code panops:s3:bucket}, {@code
 * panops:s3:key}, plus per-request pairs from {@link RequestEncryption}): an object copied or moved
 * over another by anyone with S3 write access fails to decrypt. The header carries the encrypted
 * data key and its key context, so KMS is called only on a data-key cache miss, never per object.
 *
 * <p><b>Writes</b> ({@link #putObject(PutObjectRequest, RequestBody)}) pull plaintext from the
 * request body through the core's encrypting stream ({@code EncryptingPump}, no thread, memory of
 * one frame and a 16 KiB chunk). The first frame is sealed before the request is sent, so the
 * header length, and with a known plaintext length the exact ciphertext length, are known up front.
 * A body of known length up to {@link Builder#multipartThreshold} goes in one {@code PutObject};
 * larger or unknown-length bodies go through multipart upload in parts of {@link
 * Builder#multipartPartSize} (at least 5 MiB, default 8 MiB) filled from the same encrypting
 * stream, one part in memory at a time; any failure aborts the upload, so no partial object is ever
 * visible. A short unknown-length body ends up in a single {@code PutObject}.
 *
 * <p><b>Reads</b> ({@link #getObject(GetObjectRequest, ResponseTransformer)}, which every {@code
 * getObject} overload reaches) return the core's decrypting stream: no byte is released before its
 * frame verified, memory is about two frames. A ranged read ({@code bytes=a-b}, {@code bytes=a-},
 * {@code bytes=-n}) first fetches the first 16 KiB (the header; the whole object if smaller), then
 * only the frames that cover the range, pinned to the same object with {@code If-Match} on its
 * ETag, authenticates each frame, and returns exactly the requested bytes, with {@code
 * Content-Range} and {@code Content-Length} in plaintext terms.
 *
 * <p><b>Metadata</b> ({@code x-amz-meta-panops-*}, see {@code ObjectLayout}) marks an encrypted
 * object and records header length, frame size and plaintext length. It is never trusted: each
 * value is checked against the parsed header and the length S3 reports, and a mismatch fails with
 * {@link S3IntegrityException} before anything is decrypted. The adapter's keys are removed from
 * responses and refused in requests.
 *
 * <p><b>Copy</b> is a streamed decrypt and re-encrypt through this process (a server-side copy
 * would not decrypt at its new key, since the AAD binds the key). <b>Re-wrap</b> ({@link
 * #rewrapPrefix}) moves objects to the tenant's current CMK with KMS {@code ReEncrypt}: a new
 * header, the same body bytes streamed from S3 back into S3, nothing decrypted.
 *
 * <p><b>Refused</b>: {@code createMultipartUpload}, {@code uploadPart}, {@code uploadPartCopy} and
 * {@code completeMultipartUpload} (they would store plaintext, or splice ciphertexts; {@code
 * putObject} does multipart itself), and {@code getObjectTorrent}. {@code getObjectAttributes},
 * listings and the ETag report the stored (ciphertext) object.
 *
 * <p>Thread-safe, like the client it wraps. {@link #close()} closes the wrapped client, not the
 * {@link PanopsCrypto}.
 */
public final class EncryptingS3Client extends DelegatingS3Client {
  /** Message AAD key holding the bucket name. */
  public static final String AAD_BUCKET = "panops:s3:bucket";

  /** Message AAD key holding the object key. */
  public static final String AAD_KEY = "panops:s3:key";

  /**
   * Bytes fetched first by a ranged read and a re-wrap: more than the largest header ({@code
   * MessageFormat.MAX_HEADER_LENGTH}, 8506 bytes).
   */
  static final int PREFIX_FETCH = 16 * 1024;

  private static final long MIN_PART = 5L * 1024 * 1024;
  private static final long MAX_PART = 512L * 1024 * 1024;
  private static final long MAX_SINGLE_PUT = 5L * 1024 * 1024 * 1024;
  private static final int MAX_PARTS = 10_000;

  private final S3Client s3;
  private final Supplier<TenantCrypto> tenant;
  private final KeyContext defaultKeyContext;
  private final boolean sseKms;
  private final boolean legacyPlaintextReads;
  private final long multipartThreshold;
  private final long partSize;

  private EncryptingS3Client(Builder b) {
    super(b.s3);
    this.s3 = b.s3;
    this.tenant = b.tenantSupplier;
    this.defaultKeyContext = b.keyContext;
    this.sseKms = b.sseKms;
    this.legacyPlaintextReads = b.legacyPlaintextReads;
    this.multipartThreshold = b.multipartThreshold;
    this.partSize = b.partSize;
  }

  /** A new builder. */
  public static Builder builder() {
    return new Builder();
  }

  // =================================================================== writes

  /**
   * Encrypts the body as it streams and stores it. The body's content stream is read once (again
   * only if the SDK retries a single {@code PutObject}, which re-encrypts). User metadata is kept;
   * {@code x-amz-meta-panops-*} keys are the adapter's and refused. With SSE-KMS on, the object is
   * also encrypted at rest by S3 under the tenant's current CMK.
   *
   * @throws IllegalArgumentException if the request carries checksums or a Content-MD5 of the
   *     plaintext, an append offset, reserved metadata, or SSE settings that conflict with SSE-KMS
   * @throws S3KeyRevokedException if the tenant's current CMK is revoked
   * @throws S3EncryptionException if KMS is unavailable to give a data key
   */
  @Override
  public PutObjectResponse putObject(PutObjectRequest request, RequestBody body) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(body, "body");
    long declared = body.optionalContentLength().orElse(-1L);
    if (request.contentLength() != null) {
      if (declared >= 0 && request.contentLength() != declared) {
        throw new IllegalArgumentException(
            "request contentLength differs from the request body's length");
      }
      declared = request.contentLength();
    }
    String contentType = request.contentType() != null ? request.contentType() : body.contentType();
    ContentStreamProvider source = body.contentStreamProvider();
    return putPlaintext(request, source::newStream, declared, contentType);
  }

  /**
   * Encrypts and stores a body of unknown length read from {@code plaintext} (closed at the end):
   * one {@code PutObject} if it fits in one part, else a multipart upload. Not retried by the SDK
   * (a stream cannot be read twice); a failed multipart upload is aborted.
   *
   * @see #putObject(PutObjectRequest, RequestBody)
   */
  public PutObjectResponse putObject(PutObjectRequest request, InputStream plaintext) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(plaintext, "plaintext");
    boolean[] used = new boolean[1];
    return putPlaintext(
        request,
        () -> {
          if (used[0]) {
            throw new IllegalStateException("an InputStream body cannot be read twice");
          }
          used[0] = true;
          return plaintext;
        },
        request.contentLength() == null ? -1 : request.contentLength(),
        request.contentType());
  }

  private PutObjectResponse putPlaintext(
      PutObjectRequest request, Supplier<InputStream> source, long declared, String contentType) {
    checkPutRequest(request);
    Ctx c = ctx(request.overrideConfiguration(), request.bucket(), request.key());
    try {
      TenantCrypto t = tenant.get();
      EncryptingPump first = pump(t, source.get(), declared, c);
      try {
        MessageHeader h = first.header();
        int headerLength = h.length();
        Map<String, String> md = new HashMap<>(request.metadata());
        md.putAll(ObjectLayout.metadataFor(headerLength, h.frameSize(), declared));
        PutObjectRequest.Builder b =
            request.toBuilder().metadata(md).contentType(contentType).contentLength(null);
        applySse(b, request, t.keys().currentKeyArn());
        long ctLen =
            declared < 0
                ? -1
                : ObjectLayout.ciphertextLength(headerLength, h.frameSize(), declared);
        // A retried single PutObject re-encrypts from a new content stream: same length required.
        Reopen reopen =
            () -> {
              EncryptingPump again = pump(tenant.get(), source.get(), declared, c);
              if (again.header().length() != headerLength) {
                again.close();
                throw new IOException("the message header changed length on retry");
              }
              return again;
            };
        return upload(b.build(), first, ctLen, reopen);
      } finally {
        first.close();
      }
    } catch (IOException e) {
      throw SdkClientException.create("could not read the request body: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw unwrap(e);
    }
  }

  /** An encrypting pump over {@code in}, which is closed if the pump cannot be made. */
  private static EncryptingPump pump(TenantCrypto t, InputStream in, long declared, Ctx c) {
    try {
      return new EncryptingPump(t, in, declared, c.keyContext, c.aad);
    } catch (RuntimeException | Error e) {
      if (in instanceof ResponseInputStream) {
        ((ResponseInputStream<?>) in).abort();
      }
      closeQuietly(in);
      throw e;
    }
  }

  /** Opens the ciphertext stream again for an SDK retry. */
  @FunctionalInterface
  private interface Reopen {
    InputStream open() throws IOException;
  }

  /**
   * Stores {@code ciphertext} at the request's bucket and key: one {@code PutObject} when its
   * length is known and at most the threshold, else a multipart upload (aborted on any failure).
   */
  private PutObjectResponse upload(
      PutObjectRequest request, InputStream ciphertext, long ctLen, Reopen reopen) {
    if (ctLen >= 0 && ctLen <= multipartThreshold) {
      return s3.putObject(
          request.toBuilder().contentLength(ctLen).build(),
          body(new FirstThenReopen(ciphertext, reopen), ctLen, request.contentType()));
    }
    return multipart(request, ciphertext, ctLen);
  }

  private static RequestBody body(ContentStreamProvider p, long length, String contentType) {
    return RequestBody.fromContentProvider(
        p, length, contentType == null ? "application/octet-stream" : contentType);
  }

  /** Hands out the already-open stream first, then re-opens for retries. */
  private static final class FirstThenReopen implements ContentStreamProvider {
    private InputStream first;
    private final Reopen reopen;

    FirstThenReopen(InputStream first, Reopen reopen) {
      this.first = first;
      this.reopen = reopen;
    }

    @Override
    public synchronized InputStream newStream() {
      if (first != null) {
        InputStream s = first;
        first = null;
        return s;
      }
      if (reopen == null) {
        throw new IllegalStateException("this body cannot be sent twice");
      }
      try {
        return reopen.open();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private PutObjectResponse multipart(PutObjectRequest request, InputStream ct, long ctLen) {
    long part = partSize;
    if (ctLen > 0) {
      part = Math.max(part, (ctLen + MAX_PARTS - 1) / MAX_PARTS);
    }
    if (part > MAX_PART) {
      throw new IllegalArgumentException("object too large for multipart upload");
    }
    PartBuffer buf =
        new PartBuffer((int) part, ctLen < 0 ? 64 * 1024 : (int) Math.min(part, ctLen));
    String uploadId = null;
    try {
      boolean more = buf.fill(ct);
      if (!more) {
        // everything fits in one part: a plain PutObject (an unknown-length body that is short)
        long n = buf.size();
        byte[] a = buf.array();
        return s3.putObject(
            request.toBuilder().contentLength(n).build(),
            body(() -> new ByteArrayInputStream(a, 0, (int) n), n, request.contentType()));
      }
      CreateMultipartUploadResponse created = s3.createMultipartUpload(toCreate(request));
      uploadId = created.uploadId();
      List<CompletedPart> parts = new ArrayList<>();
      int number = 0;
      while (true) {
        number++;
        if (number > MAX_PARTS) {
          throw new IllegalArgumentException("object needs more than " + MAX_PARTS + " parts");
        }
        long n = buf.size();
        byte[] a = buf.array();
        UploadPartResponse up =
            s3.uploadPart(
                toUploadPart(request, uploadId, number, n),
                body(() -> new ByteArrayInputStream(a, 0, (int) n), n, null));
        CompletedPart.Builder cp = CompletedPart.builder().partNumber(number).eTag(up.eTag());
        if (request.checksumAlgorithm() != null) {
          Checksums.copyPartChecksums(up, CompletedPart.builder().build(), cp);
        }
        parts.add(cp.build());
        if (!more) {
          break;
        }
        if (ctLen < 0) {
          buf.capacity(unknownLengthPartSize(partSize, number + 1));
        }
        more = buf.fill(ct);
      }
      CompleteMultipartUploadResponse done =
          s3.completeMultipartUpload(
              CompleteMultipartUploadRequest.builder()
                  .bucket(request.bucket())
                  .key(request.key())
                  .uploadId(uploadId)
                  .multipartUpload(CompletedMultipartUpload.builder().parts(parts).build())
                  .ifMatch(request.ifMatch())
                  .ifNoneMatch(request.ifNoneMatch())
                  .sseCustomerAlgorithm(request.sseCustomerAlgorithm())
                  .sseCustomerKey(request.sseCustomerKey())
                  .sseCustomerKeyMD5(request.sseCustomerKeyMD5())
                  .requestPayer(request.requestPayerAsString())
                  .expectedBucketOwner(request.expectedBucketOwner())
                  .overrideConfiguration(request.overrideConfiguration().orElse(null))
                  .build());
      uploadId = null; // complete: nothing to abort
      return PutObjectResponse.builder()
          .eTag(done.eTag())
          .versionId(done.versionId())
          .expiration(done.expiration())
          .serverSideEncryption(done.serverSideEncryptionAsString())
          .ssekmsKeyId(done.ssekmsKeyId())
          .bucketKeyEnabled(done.bucketKeyEnabled())
          .requestCharged(done.requestChargedAsString())
          .build();
    } catch (IOException e) {
      SdkClientException x =
          SdkClientException.create("could not read the request body: " + e.getMessage(), e);
      abort(request, uploadId, x);
      throw x;
    } catch (RuntimeException | Error e) {
      abort(request, uploadId, e);
      throw e;
    } finally {
      buf.wipe();
    }
  }

  /**
   * The size of part {@code number} (1-based) of a body of unknown length: the configured size for
   * the first 1,000 parts, then doubling every 1,000 parts up to the 512 MiB memory bound. With the
   * default 8 MiB, 10,000 parts hold about 2.4 TiB (a fixed 8 MiB held 78 GiB), while a small body
   * costs one small part in memory. Package-private for tests.
   */
  static long unknownLengthPartSize(long configured, int number) {
    int doublings = Math.min(20, (number - 1) / 1000);
    return Math.min(MAX_PART, Math.max(configured, configured << doublings));
  }

  private void abort(PutObjectRequest request, String uploadId, Throwable failure) {
    if (uploadId == null) {
      return;
    }
    try {
      s3.abortMultipartUpload(
          r ->
              r.bucket(request.bucket())
                  .key(request.key())
                  .uploadId(uploadId)
                  .requestPayer(request.requestPayerAsString())
                  .expectedBucketOwner(request.expectedBucketOwner())
                  .overrideConfiguration(request.overrideConfiguration().orElse(null)));
    } catch (RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  /** One multipart part in memory, grown as it fills, with one byte of look-ahead. */
  private static final class PartBuffer {
    private int capacity;
    private byte[] buf;
    private int size;
    private int lookahead = -1;

    PartBuffer(int capacity, int initial) {
      this.capacity = capacity;
      this.buf = new byte[Math.max(1, Math.min(capacity, initial))];
    }

    /** Sets the size of the next parts (at most {@code MAX_PART}). */
    void capacity(long bytes) {
      capacity = (int) Math.min(MAX_PART, bytes);
    }

    /** Refills; returns whether more bytes follow this buffer's contents. */
    boolean fill(InputStream in) throws IOException {
      size = 0;
      if (lookahead >= 0) {
        buf[size++] = (byte) lookahead;
        lookahead = -1;
      }
      while (size < capacity) {
        if (size == buf.length) {
          buf = Arrays.copyOf(buf, (int) Math.min(capacity, (long) buf.length * 2));
        }
        int r = in.read(buf, size, buf.length - size);
        if (r < 0) {
          return false;
        }
        size += r;
      }
      lookahead = in.read();
      return lookahead >= 0;
    }

    int size() {
      return size;
    }

    byte[] array() {
      return buf;
    }

    void wipe() {
      Arrays.fill(buf, (byte) 0);
    }
  }

  private static CreateMultipartUploadRequest toCreate(PutObjectRequest r) {
    return CreateMultipartUploadRequest.builder()
        .bucket(r.bucket())
        .key(r.key())
        .acl(r.aclAsString())
        .cacheControl(r.cacheControl())
        .contentDisposition(r.contentDisposition())
        .contentEncoding(r.contentEncoding())
        .contentLanguage(r.contentLanguage())
        .contentType(r.contentType())
        .expires(r.expires())
        .grantFullControl(r.grantFullControl())
        .grantRead(r.grantRead())
        .grantReadACP(r.grantReadACP())
        .grantWriteACP(r.grantWriteACP())
        .metadata(r.metadata())
        .serverSideEncryption(r.serverSideEncryptionAsString())
        .storageClass(r.storageClassAsString())
        .websiteRedirectLocation(r.websiteRedirectLocation())
        .sseCustomerAlgorithm(r.sseCustomerAlgorithm())
        .sseCustomerKey(r.sseCustomerKey())
        .sseCustomerKeyMD5(r.sseCustomerKeyMD5())
        .ssekmsKeyId(r.ssekmsKeyId())
        .ssekmsEncryptionContext(r.ssekmsEncryptionContext())
        .bucketKeyEnabled(r.bucketKeyEnabled())
        .requestPayer(r.requestPayerAsString())
        .tagging(r.tagging())
        .objectLockMode(r.objectLockModeAsString())
        .objectLockRetainUntilDate(r.objectLockRetainUntilDate())
        .objectLockLegalHoldStatus(r.objectLockLegalHoldStatusAsString())
        .expectedBucketOwner(r.expectedBucketOwner())
        .checksumAlgorithm(r.checksumAlgorithmAsString())
        .overrideConfiguration(r.overrideConfiguration().orElse(null))
        .build();
  }

  private static UploadPartRequest toUploadPart(
      PutObjectRequest r, String uploadId, int number, long length) {
    return UploadPartRequest.builder()
        .bucket(r.bucket())
        .key(r.key())
        .uploadId(uploadId)
        .partNumber(number)
        .contentLength(length)
        .checksumAlgorithm(r.checksumAlgorithmAsString())
        .sseCustomerAlgorithm(r.sseCustomerAlgorithm())
        .sseCustomerKey(r.sseCustomerKey())
        .sseCustomerKeyMD5(r.sseCustomerKeyMD5())
        .requestPayer(r.requestPayerAsString())
        .expectedBucketOwner(r.expectedBucketOwner())
        .overrideConfiguration(r.overrideConfiguration().orElse(null))
        .build();
  }

  private void checkPutRequest(PutObjectRequest r) {
    Objects.requireNonNull(r.bucket(), "bucket");
    Objects.requireNonNull(r.key(), "key");
    String checksum = Checksums.firstSet(r);
    if (checksum != null) {
      throw new IllegalArgumentException(
          "a precomputed "
              + checksum
              + " would be of the plaintext; set checksumAlgorithm instead (the SDK computes it"
              + " over the ciphertext)");
    }
    if (r.writeOffsetBytes() != null) {
      throw new IllegalArgumentException("appending to an encrypted object is not supported");
    }
    for (String k : r.metadata().keySet()) {
      if (ObjectLayout.isReserved(k)) {
        throw new IllegalArgumentException("metadata key is reserved by panops-crypto: " + k);
      }
    }
  }

  private void applySse(PutObjectRequest.Builder b, PutObjectRequest r, String cmkArn) {
    if (!sseKms) {
      return;
    }
    String sse = r.serverSideEncryptionAsString();
    if ((sse != null && !ServerSideEncryption.AWS_KMS.toString().equals(sse))
        || (r.ssekmsKeyId() != null && !r.ssekmsKeyId().equals(cmkArn))
        || r.sseCustomerAlgorithm() != null) {
      throw new IllegalArgumentException(
          "the request's server-side encryption conflicts with sseKms(true), which uses the"
              + " tenant's CMK");
    }
    b.serverSideEncryption(ServerSideEncryption.AWS_KMS).ssekmsKeyId(cmkArn);
  }

  // =================================================================== reads

  /**
   * Reads and decrypts an object (or a byte range of it, from the request's {@code Range}),
   * authenticating every frame before releasing its bytes. Every {@code getObject} and {@code
   * getObjectAsBytes} overload of {@link S3Client} comes here. The response reports the plaintext
   * length, and for a range the plaintext {@code Content-Range}; checksums of the stored object are
   * removed from it.
   *
   * <p>Errors while reading the stream are the adapter's {@link S3IntegrityException} and {@link
   * S3KeyRevokedException} (unchecked).
   *
   * @throws IllegalArgumentException for a malformed or multi-part range, or a {@code partNumber}
   * @throws S3Exception with status 416 ({@code InvalidRange}) for a range that selects nothing
   * @throws S3EncryptionException for a plaintext object when legacy reads are not allowed
   */
  @Override
  public <ReturnT> ReturnT getObject(
      GetObjectRequest request, ResponseTransformer<GetObjectResponse, ReturnT> transformer) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(transformer, "transformer");
    Objects.requireNonNull(request.bucket(), "bucket");
    Objects.requireNonNull(request.key(), "key");
    if (request.partNumber() != null) {
      throw new IllegalArgumentException("partNumber reads are not supported on encrypted objects");
    }
    Ctx c = ctx(request.overrideConfiguration(), request.bucket(), request.key());
    if (request.range() == null) {
      return fullGet(request, transformer, c);
    }
    return rangedGet(request, RangePlan.Request.parse(request.range()), transformer, c);
  }

  /**
   * Reads and decrypts an object into a new file at {@code destination}. The plaintext is written
   * to a temporary file beside it and moved into place only once every frame has been
   * authenticated: after a failure (tamper, truncation, revoked key) no file, and so no partial
   * plaintext, is left at {@code destination}, and the temporary file is deleted.
   *
   * @throws SdkClientException if {@code destination} exists (as the SDK's own file transformer)
   */
  @Override
  public GetObjectResponse getObject(GetObjectRequest request, Path destination) {
    Objects.requireNonNull(destination, "destination");
    Path target = destination.toAbsolutePath();
    if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      throw SdkClientException.create("file already exists: " + destination);
    }
    Path tmp;
    try {
      tmp = Files.createTempFile(target.getParent(), ".panops-get-", ".part");
    } catch (IOException e) {
      throw SdkClientException.create("could not create a file beside " + destination, e);
    }
    boolean moved = false;
    try {
      GetObjectResponse r =
          getObject(
              request,
              (response, in) -> {
                try (OutputStream out = Files.newOutputStream(tmp)) {
                  in.transferTo(out);
                }
                return response;
              });
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target);
      }
      moved = true;
      return r;
    } catch (IOException e) {
      throw SdkClientException.create("could not write " + destination + ": " + e.getMessage(), e);
    } finally {
      if (!moved) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort; the name says what it is
        }
      }
    }
  }

  private <ReturnT> ReturnT fullGet(
      GetObjectRequest request,
      ResponseTransformer<GetObjectResponse, ReturnT> transformer,
      Ctx c) {
    ResponseInputStream<GetObjectResponse> raw = s3.getObject(request);
    InputStream plaintext;
    GetObjectResponse response;
    try {
      GetObjectResponse r = raw.response();
      ObjectLayout layout = ObjectLayout.of(r.metadata());
      if (layout == null) {
        if (!legacyPlaintextReads) {
          throw notEncrypted();
        }
        return transform(transformer, r, raw, raw);
      }
      long ctLen = r.contentLength();
      MessageHeader h = MessageHeader.read(raw);
      long pl = layout.check(h, ctLen);
      long last = h.frameCount(ctLen) - 1;
      InputStream frames = tenant.get().decryptFrames(h, ctLen, 0, last, raw, c.keyContext, c.aad);
      plaintext = new PlaintextStream(frames, 0, -1, () -> {});
      response = plaintextResponse(r, pl, null);
    } catch (IOException e) {
      raw.abort();
      closeQuietly(raw);
      throw SdkClientException.create("could not read the object: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      raw.abort();
      closeQuietly(raw);
      throw unwrap(e);
    }
    return transform(transformer, response, plaintext, raw);
  }

  /**
   * A ranged read is two GETs (the prefix, then the frames); the second is pinned to the object the
   * first saw (by version id when S3 gives one, else by {@code If-Match} on its ETag). An object
   * replaced in between makes the pinned GET fail with 412, which this method answers by starting
   * again once from a fresh prefix: the caller never gets a 412 for a request it did not make
   * conditional, nor bytes of two different objects.
   */
  private <ReturnT> ReturnT rangedGet(
      GetObjectRequest request,
      RangePlan.Request range,
      ResponseTransformer<GetObjectResponse, ReturnT> transformer,
      Ctx c) {
    try {
      return rangedGetOnce(request, range, transformer, c);
    } catch (ReplacedMeanwhile first) {
      try {
        return rangedGetOnce(request, range, transformer, c);
      } catch (ReplacedMeanwhile again) {
        throw again.failure; // replaced twice in a row: report S3's answer
      }
    }
  }

  /** The object changed between the two GETs of a ranged read (the pinned GET got 412). */
  private static final class ReplacedMeanwhile extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final S3Exception failure;

    ReplacedMeanwhile(S3Exception failure) {
      super(null, null, false, false);
      this.failure = failure;
    }
  }

  /**
   * The second GET of a ranged read, pinned to the object {@code first} describes: by its version
   * id when it has one, else by {@code If-Match} on its ETag unless the caller set their own.
   */
  private GetObjectRequest.Builder pinnedTo(GetObjectRequest request, GetObjectResponse first) {
    GetObjectRequest.Builder b = request.toBuilder();
    if (request.versionId() == null && first.versionId() != null) {
      b.versionId(first.versionId());
    } else if (request.versionId() == null && request.ifMatch() == null && first.eTag() != null) {
      b.ifMatch(first.eTag());
    }
    return b;
  }

  private <ReturnT> ReturnT pinnedGet(
      GetObjectRequest pinned,
      GetObjectRequest request,
      ResponseTransformer<GetObjectResponse, ReturnT> transformer) {
    try {
      return s3.getObject(pinned, transformer);
    } catch (S3Exception e) {
      if (e.statusCode() == 412 && request.ifMatch() == null && request.versionId() == null) {
        throw new ReplacedMeanwhile(e);
      }
      throw e;
    }
  }

  private <ReturnT> ReturnT rangedGetOnce(
      GetObjectRequest request,
      RangePlan.Request range,
      ResponseTransformer<GetObjectResponse, ReturnT> transformer,
      Ctx c) {
    Prefix p = fetchPrefix(request);
    if (p.layout == null) {
      if (!legacyPlaintextReads) {
        throw notEncrypted();
      }
      if (p.response == null) {
        return s3.getObject(request, transformer); // an empty object: S3 answers the range
      }
      // the caller's own range, as stored, of the very object found to be plaintext: one replaced
      // by an encrypted object meanwhile must not be returned as plaintext
      return pinnedGet(pinnedTo(request, p.response).build(), request, transformer);
    }
    try {
      long[] se = range.resolve(p.plaintextLength);
      if (se == null) {
        throw invalidRange(range, p.plaintextLength);
      }
      RangePlan plan =
          RangePlan.of(se[0], se[1], p.header.length(), p.header.frameSize(), p.ciphertextLength);
      InputStream frames;
      GetObjectResponse base;
      ResponseInputStream<GetObjectResponse> raw = null;
      if (plan.ciphertextEnd < p.bytes.length) {
        frames =
            new ByteArrayInputStream(
                p.bytes,
                (int) plan.ciphertextStart,
                (int) (plan.ciphertextEnd - plan.ciphertextStart + 1));
        base = p.response;
      } else {
        GetObjectRequest second =
            pinnedTo(request, p.response) // the same object as the header came from
                .range("bytes=" + plan.ciphertextStart + "-" + plan.ciphertextEnd)
                .checksumMode((String) null)
                .build();
        raw = pinnedGet(second, request, ResponseTransformer.toInputStream());
        frames = raw;
        base = raw.response();
        Long total = totalLength(base);
        if (total == null || total != p.ciphertextLength) {
          raw.abort();
          closeQuietly(raw);
          throw Errors.integrity();
        }
      }
      ResponseInputStream<GetObjectResponse> toClose = raw;
      InputStream decrypted;
      try {
        decrypted =
            tenant
                .get()
                .decryptFrames(
                    p.header,
                    p.ciphertextLength,
                    plan.firstFrame,
                    plan.lastFrame,
                    frames,
                    c.keyContext,
                    c.aad);
      } catch (RuntimeException e) {
        if (toClose != null) {
          toClose.abort();
          closeQuietly(toClose);
        }
        throw e;
      }
      InputStream plaintext = new PlaintextStream(decrypted, plan.skip, plan.length(), () -> {});
      GetObjectResponse response =
          plaintextResponse(base, plan.length(), plan.contentRange(p.plaintextLength));
      return transform(transformer, response, plaintext, toClose);
    } catch (RuntimeException e) {
      throw unwrap(e);
    }
  }

  /** The first bytes of an object: its header and layout, or a null layout for plaintext. */
  private static final class Prefix {
    GetObjectResponse response;
    byte[] bytes;
    ObjectLayout layout;
    MessageHeader header;
    long ciphertextLength;
    long plaintextLength;
  }

  private Prefix fetchPrefix(GetObjectRequest request) {
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
  private static Long totalLength(GetObjectResponse r) {
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

  private static S3Exception invalidRange(RangePlan.Request range, long length) {
    String msg =
        "The requested range " + range + " is not satisfiable (object length " + length + ")";
    return (S3Exception)
        S3Exception.builder()
            .statusCode(416)
            .message(msg)
            .awsErrorDetails(
                AwsErrorDetails.builder()
                    .errorCode("InvalidRange")
                    .errorMessage(msg)
                    .serviceName("S3")
                    .build())
            .build();
  }

  private <ReturnT> ReturnT transform(
      ResponseTransformer<GetObjectResponse, ReturnT> transformer,
      GetObjectResponse response,
      InputStream body,
      ResponseInputStream<GetObjectResponse> raw) {
    AbortableInputStream in =
        AbortableInputStream.create(
            body,
            () -> {
              if (raw != null) {
                raw.abort();
              }
            });
    try {
      return transformer.transform(response, in);
    } catch (RuntimeException e) {
      in.abort();
      closeQuietly(in);
      throw unwrap(e);
    } catch (Exception e) {
      in.abort();
      closeQuietly(in);
      RuntimeException mapped = causeOf(e);
      if (mapped != null) {
        throw mapped;
      }
      throw SdkClientException.create("could not transform the response: " + e.getMessage(), e);
    }
  }

  /**
   * The object's metadata, with the plaintext length as {@code contentLength} (computed from the
   * stored length and the adapter's metadata, without reading the object; see the README for what
   * that does and does not prove). The adapter's metadata keys and the stored object's checksums
   * are removed.
   *
   * @throws S3IntegrityException if the adapter's metadata does not fit the stored length
   * @throws S3EncryptionException for a plaintext object when legacy reads are not allowed
   */
  @Override
  public HeadObjectResponse headObject(HeadObjectRequest request) {
    Objects.requireNonNull(request, "request");
    if (request.partNumber() != null || request.range() != null) {
      throw new IllegalArgumentException("partNumber and range are not supported on headObject");
    }
    HeadObjectResponse r = s3.headObject(request);
    ObjectLayout layout = ObjectLayout.of(r.metadata());
    if (layout == null) {
      if (!legacyPlaintextReads) {
        throw notEncrypted();
      }
      return r;
    }
    long pl = layout.plaintextLength(r.contentLength());
    HeadObjectResponse.Builder b =
        r.toBuilder().contentLength(pl).metadata(ObjectLayout.userMetadata(r.metadata()));
    Checksums.clear(r, b);
    b.sdkHttpResponse(plaintextHttp(r.sdkHttpResponse(), pl, null));
    return b.build();
  }

  private static GetObjectResponse plaintextResponse(
      GetObjectResponse r, long contentLength, String contentRange) {
    GetObjectResponse.Builder b =
        r.toBuilder()
            .contentLength(contentLength)
            .contentRange(contentRange)
            .metadata(ObjectLayout.userMetadata(r.metadata()));
    Checksums.clear(r, b);
    b.sdkHttpResponse(plaintextHttp(r.sdkHttpResponse(), contentLength, contentRange));
    return b.build();
  }

  /** The raw HTTP response with plaintext lengths and without the adapter's or checksum headers. */
  private static SdkHttpResponse plaintextHttp(
      SdkHttpResponse http, long contentLength, String contentRange) {
    if (http == null) {
      return null;
    }
    SdkHttpResponse.Builder b = http.toBuilder().clearHeaders();
    http.headers()
        .forEach(
            (name, values) -> {
              String n = name.toLowerCase(Locale.ROOT);
              if (n.equals("content-length")
                  || n.equals("content-range")
                  || n.equals("content-md5")
                  || n.startsWith("x-amz-checksum-")
                  || n.startsWith("x-amz-meta-panops-")) {
                return;
              }
              b.putHeader(name, values);
            });
    b.putHeader("Content-Length", Long.toString(contentLength));
    if (contentRange != null) {
      b.putHeader("Content-Range", contentRange);
    }
    return b.build();
  }

  // =================================================================== copy

  /**
   * Copies an object by streaming it through this process: decrypted (and authenticated) from its
   * source key, encrypted anew for its destination key, under the tenant's current CMK. A
   * server-side copy cannot work, because the message AAD binds the object to its bucket and key.
   * The request's {@link RequestEncryption} settings apply to both the source and the destination.
   * With the {@code COPY} metadata directive (the default) user metadata and content headers come
   * from the source; tags are copied unless the tagging directive is {@code REPLACE}. ACLs, object
   * lock settings and the storage class come from the request only. A plaintext source (with legacy
   * reads allowed) is encrypted at its destination.
   *
   * <p>The result carries the new ETag and version id; its {@code lastModified} is not set.
   */
  @Override
  public CopyObjectResponse copyObject(CopyObjectRequest request) {
    Objects.requireNonNull(request, "request");
    GetObjectRequest.Builder get =
        GetObjectRequest.builder()
            .bucket(request.sourceBucket())
            .key(request.sourceKey())
            .versionId(request.sourceVersionId())
            .ifMatch(request.copySourceIfMatch())
            .ifNoneMatch(request.copySourceIfNoneMatch())
            .ifModifiedSince(request.copySourceIfModifiedSince())
            .ifUnmodifiedSince(request.copySourceIfUnmodifiedSince())
            .sseCustomerAlgorithm(request.copySourceSSECustomerAlgorithm())
            .sseCustomerKey(request.copySourceSSECustomerKey())
            .sseCustomerKeyMD5(request.copySourceSSECustomerKeyMD5())
            .requestPayer(request.requestPayerAsString())
            .expectedBucketOwner(request.expectedSourceBucketOwner());
    request.overrideConfiguration().ifPresent(get::overrideConfiguration);
    OpenedStreams opened = new OpenedStreams();
    try {
      ResponseInputStream<GetObjectResponse> src = opened.add(getObject(get.build()));
      GetObjectResponse s = src.response();
      boolean replace = request.metadataDirective() == MetadataDirective.REPLACE;
      PutObjectRequest.Builder put =
          PutObjectRequest.builder()
              .bucket(request.destinationBucket())
              .key(request.destinationKey())
              .acl(request.aclAsString())
              .grantFullControl(request.grantFullControl())
              .grantRead(request.grantRead())
              .grantReadACP(request.grantReadACP())
              .grantWriteACP(request.grantWriteACP())
              .storageClass(request.storageClassAsString())
              .websiteRedirectLocation(request.websiteRedirectLocation())
              .serverSideEncryption(request.serverSideEncryptionAsString())
              .ssekmsKeyId(request.ssekmsKeyId())
              .ssekmsEncryptionContext(request.ssekmsEncryptionContext())
              .bucketKeyEnabled(request.bucketKeyEnabled())
              .sseCustomerAlgorithm(request.sseCustomerAlgorithm())
              .sseCustomerKey(request.sseCustomerKey())
              .sseCustomerKeyMD5(request.sseCustomerKeyMD5())
              .objectLockMode(request.objectLockModeAsString())
              .objectLockRetainUntilDate(request.objectLockRetainUntilDate())
              .objectLockLegalHoldStatus(request.objectLockLegalHoldStatusAsString())
              .requestPayer(request.requestPayerAsString())
              .expectedBucketOwner(request.expectedBucketOwner())
              .checksumAlgorithm(request.checksumAlgorithmAsString());
      if (replace) {
        put.metadata(request.metadata())
            .contentType(request.contentType())
            .cacheControl(request.cacheControl())
            .contentDisposition(request.contentDisposition())
            .contentEncoding(request.contentEncoding())
            .contentLanguage(request.contentLanguage())
            .expires(request.expires());
      } else {
        put.metadata(s.metadata())
            .contentType(s.contentType())
            .cacheControl(s.cacheControl())
            .contentDisposition(s.contentDisposition())
            .contentEncoding(s.contentEncoding())
            .contentLanguage(s.contentLanguage())
            .expires(s.expires());
      }
      if (request.taggingDirective() == TaggingDirective.REPLACE) {
        put.tagging(request.tagging());
      } else {
        put.tagging(
            tagsOf(
                request.sourceBucket(),
                request.sourceKey(),
                s.versionId(),
                s.tagCount(),
                request.overrideConfiguration()));
      }
      request.overrideConfiguration().ifPresent(put::overrideConfiguration);
      long length = s.contentLength();
      // an SDK retry of the PutObject reads the source again, pinned to the same version or ETag
      GetObjectRequest.Builder again = get.build().toBuilder().ifNoneMatch(null);
      if (s.versionId() != null) {
        again.versionId(s.versionId());
      } else if (s.eTag() != null) {
        again.ifMatch(s.eTag()).ifModifiedSince(null).ifUnmodifiedSince(null);
      }
      GetObjectRequest pinned = again.build();
      InputStream[] first = {src};
      Supplier<InputStream> source =
          () -> {
            synchronized (first) {
              if (first[0] != null) {
                InputStream in = first[0];
                first[0] = null;
                return in;
              }
            }
            ResponseInputStream<GetObjectResponse> re = opened.add(getObject(pinned));
            if (!Objects.equals(re.response().contentLength(), s.contentLength())) {
              throw Errors.integrity();
            }
            return re;
          };
      PutObjectResponse done = putPlaintext(put.build(), source, length, put.build().contentType());
      opened.closeAll();
      return CopyObjectResponse.builder()
          .copyObjectResult(CopyObjectResult.builder().eTag(done.eTag()).build())
          .versionId(done.versionId())
          .copySourceVersionId(s.versionId())
          .serverSideEncryption(done.serverSideEncryptionAsString())
          .ssekmsKeyId(done.ssekmsKeyId())
          .bucketKeyEnabled(done.bucketKeyEnabled())
          .expiration(done.expiration())
          .build();
    } catch (RuntimeException | Error e) {
      opened.abortAll(); // never drain the rest of the source, never keep its connection
      throw e;
    }
  }

  /**
   * The object's tags as a {@code tagging} header value, or null for none. S3 reports {@code
   * x-amz-tagging-count} only when the object has tags and the caller may read them, so a count of
   * 0 means none, while an absent count is ambiguous (no tags, no permission, or a store that does
   * not report it): then {@code GetObjectTagging} is asked, and a store that does not implement
   * tagging (501 NotImplemented) has none. Any other failure (such as AccessDenied) propagates:
   * tags are never dropped silently.
   */
  private String tagsOf(
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

  // =================================================================== re-wrap

  /**
   * Moves every encrypted object under {@code prefix} to the tenant's current CMK (customer key
   * migration), one object at a time, in listing order. For each object: its header is fetched; if
   * it already names the current CMK (and, with SSE-KMS, S3 does not hold it under one of the
   * tenant's old CMKs) it is skipped, so a run that stopped can simply be started again, or resumed
   * with {@link #rewrapPrefix(String, String, String, RewrapListener) startAfter}; otherwise KMS
   * {@code ReEncrypt} re-wraps its data key (which never enters this process), and the object is
   * rewritten at the same key as the new header followed by the unchanged body bytes, streamed from
   * S3 into S3 without decryption. The rewrite is conditional on the object's ETag (a concurrent
   * writer wins; this object is then reported failed), keeps user metadata, content headers and
   * tags, moves SSE-KMS to the current CMK when S3 held the object under one of the tenant's old
   * CMKs, and is verified by reading the new header back before it counts as done.
   *
   * <p><b>Preconditions.</b> The {@link com.panops.crypto.TenantDirectory} must list the new CMK as
   * current and the old one as decrypt-only, and <em>every writer</em> must already use it: a
   * writer that still encrypts under the old CMK can write behind the listing cursor. The run
   * therefore ends with a check: objects under the prefix modified since shortly before the run
   * began (and not rewritten by it) are read again, and any still under another CMK are listed in
   * {@link RewrapResult#stillUnderOldKeys()}; {@link RewrapResult#complete()} is true only when
   * that list and the failures are empty.
   *
   * <p><b>Versioned buckets.</b> Only current versions are re-wrapped; each rewrite adds a version
   * and leaves the previous one, still under the old CMK, as a noncurrent version. The end-of-run
   * check lists the noncurrent versions under the prefix that are under another CMK (as {@code
   * key?versionId=...}): they become unreadable once the old CMK is disabled, so delete them (or
   * let a lifecycle rule expire them) before disabling it, or keep the old CMK as long as they must
   * stay readable.
   *
   * <p>Blocking; not atomic across objects. A failed object is reported and left unchanged, and the
   * run goes on; a revoked key stops the run.
   *
   * @param listener told of every object examined
   * @throws S3KeyRevokedException if the old or the new CMK is revoked (objects done so far stay
   *     done)
   */
  public RewrapResult rewrapPrefix(String bucket, String prefix, RewrapListener listener) {
    return rewrapPrefix(bucket, prefix, null, listener);
  }

  /**
   * As {@link #rewrapPrefix(String, String, RewrapListener)}, starting after the key {@code
   * startAfter} (a previous run's {@link RewrapResult#lastKey()}), or from the start if null.
   */
  public RewrapResult rewrapPrefix(
      String bucket, String prefix, String startAfter, RewrapListener listener) {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(prefix, "prefix");
    Objects.requireNonNull(listener, "listener");
    Instant began = Instant.now().minus(RECHECK_MARGIN);
    long examined = 0;
    long rewrapped = 0;
    long current = 0;
    long plain = 0;
    List<String> failed = new ArrayList<>();
    Map<String, String> written = new HashMap<>();
    String lastKey = null;
    for (S3Object o :
        s3.listObjectsV2Paginator(
                ListObjectsV2Request.builder()
                    .bucket(bucket)
                    .prefix(prefix)
                    .startAfter(startAfter)
                    .build())
            .contents()) {
      examined++;
      lastKey = o.key();
      RewrapOutcome outcome;
      RuntimeException error = null;
      try {
        String[] etag = new String[1];
        outcome = rewrap(bucket, o.key(), etag);
        if (etag[0] != null) {
          written.put(o.key(), etag[0]);
        }
      } catch (S3KeyRevokedException e) {
        listener.onObject(
            new RewrapListener.RewrapEvent(bucket, o.key(), RewrapOutcome.FAILED, e, examined));
        throw e;
      } catch (RuntimeException e) {
        outcome = RewrapOutcome.FAILED;
        error = e;
      }
      switch (outcome) {
        case REWRAPPED:
          rewrapped++;
          break;
        case ALREADY_CURRENT:
          current++;
          break;
        case NOT_ENCRYPTED:
          plain++;
          break;
        default:
          failed.add(o.key());
      }
      listener.onObject(new RewrapListener.RewrapEvent(bucket, o.key(), outcome, error, examined));
    }
    List<String> still = stillUnderOldKeys(bucket, prefix, startAfter, began, written, failed);
    return new RewrapResult(examined, rewrapped, current, plain, failed, lastKey, still);
  }

  /** How far before a run's start the end-of-run check looks, for clock skew with S3. */
  private static final Duration RECHECK_MARGIN = Duration.ofMinutes(15);

  /**
   * The end-of-run check: current objects modified since {@code began} that the run did not write
   * itself, and (in a versioned bucket) noncurrent versions, whose header names another CMK than
   * the current one.
   */
  private List<String> stillUnderOldKeys(
      String bucket,
      String prefix,
      String startAfter,
      Instant began,
      Map<String, String> written,
      List<String> failed) {
    String cmk = tenant.get().keys().currentKeyArn();
    Set<String> failedSet = new HashSet<>(failed);
    List<String> still = new ArrayList<>();
    for (S3Object o :
        s3.listObjectsV2Paginator(
                ListObjectsV2Request.builder()
                    .bucket(bucket)
                    .prefix(prefix)
                    .startAfter(startAfter)
                    .build())
            .contents()) {
      if (failedSet.contains(o.key())
          || o.lastModified() == null
          || o.lastModified().isBefore(began)
          || Objects.equals(written.get(o.key()), o.eTag())) {
        continue;
      }
      if (underAnotherKey(GetObjectRequest.builder().bucket(bucket).key(o.key()).build(), cmk)) {
        still.add(o.key());
      }
    }
    boolean versioned;
    try {
      BucketVersioningStatus st = s3.getBucketVersioning(r -> r.bucket(bucket)).status();
      versioned = st != null;
    } catch (S3Exception e) {
      versioned = false; // a store without versioning
    }
    if (versioned) {
      for (ObjectVersion v :
          s3.listObjectVersionsPaginator(r -> r.bucket(bucket).prefix(prefix)).versions()) {
        if (Boolean.TRUE.equals(v.isLatest())
            || (startAfter != null && v.key().compareTo(startAfter) <= 0)) {
          continue;
        }
        GetObjectRequest g =
            GetObjectRequest.builder().bucket(bucket).key(v.key()).versionId(v.versionId()).build();
        if (underAnotherKey(g, cmk)) {
          still.add(v.key() + "?versionId=" + v.versionId());
        }
      }
    }
    return still;
  }

  private boolean underAnotherKey(GetObjectRequest g, String cmk) {
    Prefix p = fetchPrefix(g);
    return p.layout != null && !p.header.keyArn().equals(cmk);
  }

  /**
   * Re-wraps one object; see {@link #rewrapPrefix}.
   *
   * @return {@link RewrapOutcome#REWRAPPED}, {@link RewrapOutcome#ALREADY_CURRENT} or {@link
   *     RewrapOutcome#NOT_ENCRYPTED}
   * @throws S3IntegrityException if the object's header or layout is not valid, or the rewritten
   *     object does not read back as written
   * @throws S3KeyRevokedException if either CMK is revoked
   * @throws S3Exception if S3 refuses (for instance the object changed meanwhile: 412)
   */
  public RewrapOutcome rewrapObject(String bucket, String key) {
    return rewrap(bucket, key, new String[1]);
  }

  private RewrapOutcome rewrap(String bucket, String key, String[] writtenEtag) {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(key, "key");
    OpenedStreams opened = new OpenedStreams();
    try {
      Prefix p = fetchPrefix(GetObjectRequest.builder().bucket(bucket).key(key).build());
      if (p.layout == null) {
        return RewrapOutcome.NOT_ENCRYPTED;
      }
      TenantCrypto t = tenant.get();
      String cmk = t.keys().currentKeyArn();
      GetObjectResponse r = p.response;
      boolean headerCurrent = p.header.keyArn().equals(cmk);
      boolean sseOld = sseUnderOldTenantKey(r, t);
      if (headerCurrent && !sseOld) {
        return RewrapOutcome.ALREADY_CURRENT;
      }
      int oldH = p.header.length();
      byte[] newHeader =
          headerCurrent
              ? Arrays.copyOf(p.bytes, oldH)
              : t.rewrapHeader(p.header, KeyContext.from(p.header.keyContext()));
      long bodyLength = p.ciphertextLength - oldH;
      long newLength = newHeader.length + bodyLength;
      String etag = r.eTag();
      String versionId = r.versionId();

      // everything that can fail without a body stream comes before one is opened
      Map<String, String> md = new HashMap<>(ObjectLayout.userMetadata(r.metadata()));
      md.putAll(
          ObjectLayout.metadataFor(newHeader.length, p.header.frameSize(), p.plaintextLength));
      PutObjectRequest.Builder put =
          PutObjectRequest.builder()
              .bucket(bucket)
              .key(key)
              .metadata(md)
              .contentType(r.contentType())
              .cacheControl(r.cacheControl())
              .contentDisposition(r.contentDisposition())
              .contentEncoding(r.contentEncoding())
              .contentLanguage(r.contentLanguage())
              .expires(r.expires())
              .storageClass(r.storageClassAsString())
              .websiteRedirectLocation(r.websiteRedirectLocation());
      if (etag != null) {
        put.ifMatch(etag);
      }
      put.tagging(tagsOf(bucket, key, versionId, r.tagCount(), Optional.empty()));
      if (sseKms || sseOld) {
        // SSE-KMS follows the migration: an object left under the old CMK at rest would become
        // unreadable to S3 itself once the customer disables that key
        put.serverSideEncryption(ServerSideEncryption.AWS_KMS).ssekmsKeyId(cmk);
        if (Boolean.TRUE.equals(r.bucketKeyEnabled())) {
          put.bucketKeyEnabled(true);
        }
      } else if (r.serverSideEncryption() != null) {
        put.serverSideEncryption(r.serverSideEncryptionAsString()).ssekmsKeyId(r.ssekmsKeyId());
        if (Boolean.TRUE.equals(r.bucketKeyEnabled())) {
          put.bucketKeyEnabled(true);
        }
      }

      Reopen body;
      if (p.ciphertextLength <= p.bytes.length) {
        byte[] rest = Arrays.copyOfRange(p.bytes, oldH, (int) p.ciphertextLength);
        body =
            () ->
                new SequenceInputStream(
                    new ByteArrayInputStream(newHeader), new ByteArrayInputStream(rest));
      } else {
        // each attempt (the SDK may retry the PutObject) reads the same stored bytes again,
        // pinned by version id or ETag; a stream left behind by a failed attempt is aborted
        body =
            () -> {
              GetObjectRequest.Builder g =
                  GetObjectRequest.builder()
                      .bucket(bucket)
                      .key(key)
                      .versionId(versionId)
                      .range("bytes=" + oldH + "-");
              if (etag != null) {
                g.ifMatch(etag);
              }
              ResponseInputStream<GetObjectResponse> in = opened.add(s3.getObject(g.build()));
              Long total = totalLength(in.response());
              if (total == null || total != p.ciphertextLength) {
                throw Errors.integrity();
              }
              return new SequenceInputStream(new ByteArrayInputStream(newHeader), in);
            };
      }
      PutObjectResponse done = upload(put.build(), body.open(), newLength, body);
      opened.closeAll();
      verifyHeader(bucket, key, done.eTag(), newHeader, newLength);
      writtenEtag[0] = done.eTag();
      return RewrapOutcome.REWRAPPED;
    } catch (IOException e) {
      opened.abortAll();
      throw SdkClientException.create("re-wrap failed: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      opened.abortAll();
      throw unwrap(e);
    } catch (Error e) {
      opened.abortAll();
      throw e;
    }
  }

  /**
   * Whether the stored object is SSE-KMS encrypted under one of the tenant's keys other than its
   * current CMK (S3 reports the key as a full ARN; a bare key id is matched against the ARNs' key
   * ids).
   */
  private static boolean sseUnderOldTenantKey(GetObjectResponse r, TenantCrypto t) {
    if (r.serverSideEncryption() != ServerSideEncryption.AWS_KMS || r.ssekmsKeyId() == null) {
      return false;
    }
    String stored = r.ssekmsKeyId();
    String current = t.keys().currentKeyArn();
    if (sameKey(stored, current)) {
      return false;
    }
    for (String old : t.keys().decryptOnlyKeyArns()) {
      if (sameKey(stored, old)) {
        return true;
      }
    }
    return false;
  }

  private static boolean sameKey(String stored, String arn) {
    return stored.equals(arn) || arn.endsWith("/" + stored);
  }

  /**
   * The response streams one operation opened: on success the last is closed (it was read to its
   * end) and any earlier ones, left behind by retried attempts, are aborted; on failure every one
   * is aborted, so none drains the rest of an object or keeps a pooled connection.
   */
  private static final class OpenedStreams {
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

  private void verifyHeader(String bucket, String key, String etag, byte[] header, long length) {
    GetObjectRequest.Builder g =
        GetObjectRequest.builder().bucket(bucket).key(key).range("bytes=0-" + (header.length - 1));
    if (etag != null) {
      g.ifMatch(etag);
    }
    ResponseBytes<GetObjectResponse> back = s3.getObjectAsBytes(g.build());
    Long total = totalLength(back.response());
    if (total == null
        || total != length
        || !Arrays.equals(back.asByteArrayUnsafe(), header)
        || ObjectLayout.of(back.response().metadata()) == null) {
      throw Errors.integrity();
    }
  }

  // =================================================================== refused

  /** Refused: it would store plaintext. {@code putObject} does multipart uploads itself. */
  @Override
  public CreateMultipartUploadResponse createMultipartUpload(CreateMultipartUploadRequest request) {
    throw refused("createMultipartUpload");
  }

  /** Refused: it would store plaintext. {@code putObject} does multipart uploads itself. */
  @Override
  public UploadPartResponse uploadPart(UploadPartRequest request, RequestBody body) {
    throw refused("uploadPart");
  }

  /** Refused: parts of encrypted objects cannot be spliced into another. */
  @Override
  public UploadPartCopyResponse uploadPartCopy(UploadPartCopyRequest request) {
    throw refused("uploadPartCopy");
  }

  /** Refused: {@code putObject} does multipart uploads itself. */
  @Override
  public CompleteMultipartUploadResponse completeMultipartUpload(
      CompleteMultipartUploadRequest request) {
    throw refused("completeMultipartUpload");
  }

  /** Refused: a torrent would serve the ciphertext. */
  @Override
  public <ReturnT> ReturnT getObjectTorrent(
      GetObjectTorrentRequest request,
      ResponseTransformer<GetObjectTorrentResponse, ReturnT> transformer) {
    throw refused("getObjectTorrent");
  }

  /**
   * Refused: a rename keeps the bytes but changes the key, and the message AAD binds each object to
   * its key, so the renamed object would no longer decrypt. Copy it ({@link #copyObject}) and
   * delete the source instead.
   */
  @Override
  public RenameObjectResponse renameObject(RenameObjectRequest request) {
    throw refused("renameObject", "copyObject then deleteObject");
  }

  /** Refused: an Object Lambda response carries the caller's bytes to S3 unencrypted. */
  @Override
  public WriteGetObjectResponseResponse writeGetObjectResponse(
      WriteGetObjectResponseRequest request, RequestBody body) {
    throw refused("writeGetObjectResponse", "putObject");
  }

  /** Refused: an annotation would store the caller's bytes unencrypted. */
  @Override
  public PutObjectAnnotationResponse putObjectAnnotation(
      PutObjectAnnotationRequest request, RequestBody body) {
    throw refused("putObjectAnnotation", "putObject");
  }

  private static S3OperationRefusedException refused(String op, String instead) {
    return new S3OperationRefusedException(
        op + " would bypass encryption and is refused by the encrypting client; use " + instead);
  }

  private static S3OperationRefusedException refused(String op) {
    return refused(op, "putObject/getObject");
  }

  // =================================================================== helpers

  /** The key context and message AAD of one request. */
  private static final class Ctx {
    final KeyContext keyContext;
    final MessageAad aad;

    Ctx(KeyContext keyContext, MessageAad aad) {
      this.keyContext = keyContext;
      this.aad = aad;
    }
  }

  private Ctx ctx(Optional<AwsRequestOverrideConfiguration> oc, String bucket, String key) {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(key, "key");
    KeyContext kc = defaultKeyContext;
    MessageAad aad = MessageAad.of(AAD_BUCKET, bucket, AAD_KEY, key);
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

  private static S3EncryptionException notEncrypted() {
    return new S3EncryptionException(
        "object is not encrypted by panops-crypto; refusing to return it as plaintext (see"
            + " allowLegacyPlaintextReads())");
  }

  /** Maps a core exception found in {@code e} or its causes; otherwise returns {@code e}. */
  private static RuntimeException unwrap(RuntimeException e) {
    if (e instanceof S3EncryptionException) {
      return e;
    }
    RuntimeException found = causeOf(e);
    return found != null ? found : e;
  }

  /** The adapter's exception for the first core or adapter exception among the causes, or null. */
  private static RuntimeException causeOf(Throwable e) {
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

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException | RuntimeException ignored) {
      // already failing
    }
  }

  @Override
  public String toString() {
    return "EncryptingS3Client[sseKms="
        + sseKms
        + ", legacyPlaintextReads="
        + legacyPlaintextReads
        + ", multipartThreshold="
        + multipartThreshold
        + ", partSize="
        + partSize
        + ", keyContext="
        + defaultKeyContext
        + "]";
  }

  // =================================================================== builder

  /**
   * Builds an {@link EncryptingS3Client}. Required: {@link #s3Client}, and exactly one of {@link
   * #crypto} with {@link #tenant}, or {@link #tenantCrypto}. Not thread-safe.
   */
  public static final class Builder {
    private S3Client s3;
    private PanopsCrypto crypto;
    private String tenantId;
    private TenantCrypto tenantCrypto;
    private Supplier<TenantCrypto> tenantSupplier;
    private KeyContext keyContext = KeyContext.of("service", "s3");
    private boolean sseKms;
    private boolean legacyPlaintextReads;
    private boolean allowInsecureLocalEndpoint;
    // 100 MiB, AWS's own guidance for when multipart starts to pay: parts go up one after the
    // other from one encryption stream, so below that multipart only adds requests (measured on
    // S3Mock: 64 MiB in 8 parts took twice as long as one streamed PutObject).
    private long multipartThreshold = 100L * 1024 * 1024;
    private long partSize = 8L * 1024 * 1024;

    private Builder() {}

    /** The client to decorate (built by the caller, with its own credentials and endpoint). */
    public Builder s3Client(S3Client client) {
      this.s3 = Objects.requireNonNull(client, "client");
      return this;
    }

    /** The library instance; with {@link #tenant}. */
    public Builder crypto(PanopsCrypto crypto) {
      this.crypto = Objects.requireNonNull(crypto, "crypto");
      return this;
    }

    /**
     * The tenant whose keys encrypt. Looked up in the crypto's directory on every operation, so a
     * key rotation in the directory is seen at once (and {@link #rewrapPrefix} moves to it).
     */
    public Builder tenant(String tenantId) {
      this.tenantId = Objects.requireNonNull(tenantId, "tenantId");
      return this;
    }

    /** Instead of {@link #crypto} and {@link #tenant}: a tenant with fixed keys. */
    public Builder tenantCrypto(TenantCrypto tenant) {
      this.tenantCrypto = Objects.requireNonNull(tenant, "tenant");
      return this;
    }

    /**
     * The key context of every request that does not set its own (see {@link RequestEncryption});
     * default {@code service=s3}. Coarse on purpose: it selects the cached data key and shows in
     * the customer's CloudTrail.
     */
    public Builder keyContext(KeyContext kc) {
      this.keyContext = Objects.requireNonNull(kc, "keyContext");
      return this;
    }

    /**
     * Also asks S3 to encrypt at rest with SSE-KMS under the tenant's current CMK ({@code
     * x-amz-server-side-encryption: aws:kms} and its key id), beneath the client-side layer.
     * Default off.
     */
    public Builder sseKms(boolean on) {
      this.sseKms = on;
      return this;
    }

    /**
     * Lets reads return objects that carry no panops marker as they are stored (unauthenticated
     * plaintext), for buckets being migrated. Off by default: such a read is an {@link
     * S3EncryptionException}.
     */
    public Builder allowLegacyPlaintextReads() {
      this.legacyPlaintextReads = true;
      return this;
    }

    /**
     * Accepts a plain-HTTP S3 endpoint on a loopback address (S3Mock in tests, local runs). Without
     * this, a client whose endpoint override is not HTTPS is refused by {@link #build()}.
     */
    public Builder allowInsecureLocalS3Endpoint() {
      this.allowInsecureLocalEndpoint = true;
      return this;
    }

    /**
     * Bodies of known length larger than this (ciphertext bytes) go by multipart upload; 5 MiB to 5
     * GiB, default 100 MiB. Unknown lengths always take the multipart path.
     */
    public Builder multipartThreshold(long bytes) {
      if (bytes < MIN_PART || bytes > MAX_SINGLE_PUT) {
        throw new IllegalArgumentException("multipart threshold must be 5 MiB .. 5 GiB");
      }
      this.multipartThreshold = bytes;
      return this;
    }

    /**
     * Multipart part size: 5 MiB to 512 MiB, default 8 MiB; one part is held in memory per upload.
     * Raised automatically for objects that would need more than 10,000 parts.
     */
    public Builder multipartPartSize(long bytes) {
      if (bytes < MIN_PART || bytes > MAX_PART) {
        throw new IllegalArgumentException("part size must be 5 MiB .. 512 MiB");
      }
      this.partSize = bytes;
      return this;
    }

    /**
     * Builds the client.
     *
     * @throws IllegalStateException if a required setting is missing or settings conflict
     * @throws IllegalArgumentException if the S3 client's endpoint is plain HTTP without {@link
     *     #allowInsecureLocalS3Endpoint()}, or plain HTTP and not a loopback address
     */
    public EncryptingS3Client build() {
      if (s3 == null) {
        throw new IllegalStateException("s3Client must be set");
      }
      if (s3 instanceof EncryptingS3Client) {
        throw new IllegalStateException("the S3 client is already an EncryptingS3Client");
      }
      if (tenantCrypto != null) {
        if (crypto != null || tenantId != null) {
          throw new IllegalStateException(
              "exactly one of tenantCrypto and crypto+tenant must be set");
        }
        TenantCrypto fixed = tenantCrypto;
        tenantSupplier = () -> fixed;
      } else {
        if (crypto == null || tenantId == null) {
          throw new IllegalStateException(
              "exactly one of tenantCrypto and crypto+tenant must be set");
        }
        PanopsCrypto c = crypto;
        String id = tenantId;
        c.tenant(id); // fails now if the tenant is unknown
        tenantSupplier = () -> c.tenant(id);
      }
      if (multipartThreshold < partSize) {
        throw new IllegalStateException("multipart threshold must be at least the part size");
      }
      checkEndpoint(s3, allowInsecureLocalEndpoint);
      return new EncryptingS3Client(this);
    }
  }

  static void checkEndpoint(S3Client client, boolean allowLocalHttp) {
    URI endpoint;
    try {
      endpoint = client.serviceClientConfiguration().endpointOverride().orElse(null);
    } catch (UnsupportedOperationException e) {
      return; // a client of the caller's own making (a fake): its business
    }
    if (endpoint == null || "https".equalsIgnoreCase(endpoint.getScheme())) {
      return;
    }
    if (!"http".equalsIgnoreCase(endpoint.getScheme())) {
      throw new IllegalArgumentException("S3 endpoint " + endpoint + " is not HTTPS");
    }
    if (!allowLocalHttp) {
      throw new IllegalArgumentException(
          "S3 endpoint "
              + endpoint
              + " is not HTTPS; only a local test endpoint may be plain HTTP, and the builder must"
              + " be told so with allowInsecureLocalS3Endpoint()");
    }
    if (!com.panops.crypto.kms.KmsGateway.isLoopback(endpoint.getHost())) {
      throw new IllegalArgumentException(
          "S3 endpoint " + endpoint + " is plain HTTP and not a loopback address");
    }
  }
}
