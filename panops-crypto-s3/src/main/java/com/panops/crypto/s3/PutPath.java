package com.panops.crypto.s3;

import com.panops.crypto.KeyContext;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.EncryptingInputStream;
import com.panops.crypto.format.MessageHeader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * How a write works: {@code putObject} encrypts the body as it streams (through {@code
 * EncryptingInputStream}), then stores it in one {@code PutObject} (known length up to the
 * threshold, retry-safe by re-encrypting from a new content stream) or a multipart upload (one part
 * in memory, parts growing for unknown lengths, aborted on any failure). See {@link
 * EncryptingS3Client}.
 */
final class PutPath extends S3Path {
  PutPath(
      S3Client s3,
      Supplier<TenantCrypto> tenant,
      KeyContext defaultKeyContext,
      boolean sseKms,
      boolean legacyPlaintextReads,
      long multipartThreshold,
      long partSize) {
    super(
        s3, tenant, defaultKeyContext, sseKms, legacyPlaintextReads, multipartThreshold, partSize);
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

  PutObjectResponse putPlaintext(
      PutObjectRequest request, Supplier<InputStream> source, long declared, String contentType) {
    checkPutRequest(request);
    Ctx c = ctx(request.overrideConfiguration(), request.bucket(), request.key());
    try {
      TenantCrypto t = tenant.get();
      EncryptingInputStream first = pump(t, source.get(), declared, c);
      try {
        MessageHeader h = first.header();
        int headerLength = h.length();
        Map<String, String> md = new HashMap<>(request.metadata());
        md.putAll(ObjectLayout.metadataFor(headerLength, h.frameSize(), declared));
        PutObjectRequest.Builder b =
            request.toBuilder().metadata(md).contentType(contentType).contentLength(null);
        applySse(b, request, t.keys().currentKeyArn());
        long ctLen = declared < 0 ? -1 : h.geometry().ciphertextLength(declared);
        // A retried single PutObject re-encrypts from a new content stream: same length required.
        Reopen reopen =
            () -> {
              EncryptingInputStream again = pump(tenant.get(), source.get(), declared, c);
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
  static EncryptingInputStream pump(TenantCrypto t, InputStream in, long declared, Ctx c) {
    try {
      return new EncryptingInputStream(
          sink -> t.encryptingStream(sink, c.keyContext, c.aad),
          in,
          declared,
          EncryptingInputStream.SourceLength.TO_END,
          "request body");
    } catch (RuntimeException | Error e) {
      if (in instanceof ResponseInputStream) {
        ((ResponseInputStream<?>) in).abort();
      }
      closeQuietly(in);
      throw e;
    }
  }

  /**
   * Stores {@code ciphertext} at the request's bucket and key: one {@code PutObject} when its
   * length is known and at most the threshold, else a multipart upload (aborted on any failure).
   */
  PutObjectResponse upload(
      PutObjectRequest request, InputStream ciphertext, long ctLen, Reopen reopen) {
    if (ctLen >= 0 && ctLen <= multipartThreshold) {
      return s3.putObject(
          request.toBuilder().contentLength(ctLen).build(),
          body(new FirstThenReopen(ciphertext, reopen), ctLen, request.contentType()));
    }
    return multipart(request, ciphertext, ctLen);
  }

  static RequestBody body(ContentStreamProvider p, long length, String contentType) {
    return RequestBody.fromContentProvider(
        p, length, contentType == null ? "application/octet-stream" : contentType);
  }

  /** Hands out the already-open stream first, then re-opens for retries. */
  static final class FirstThenReopen implements ContentStreamProvider {
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

  PutObjectResponse multipart(PutObjectRequest request, InputStream ct, long ctLen) {
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

  void abort(PutObjectRequest request, String uploadId, Throwable failure) {
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
  static final class PartBuffer {
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

  static CreateMultipartUploadRequest toCreate(PutObjectRequest r) {
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

  static UploadPartRequest toUploadPart(
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

  void checkPutRequest(PutObjectRequest r) {
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

  void applySse(PutObjectRequest.Builder b, PutObjectRequest r, String cmkArn) {
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
}
