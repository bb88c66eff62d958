package com.panops.crypto.s3;

import static com.panops.crypto.s3.MultipartRequests.toComplete;
import static com.panops.crypto.s3.MultipartRequests.toCreate;
import static com.panops.crypto.s3.MultipartRequests.toPutResponse;
import static com.panops.crypto.s3.MultipartRequests.toUploadPart;

import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.EncryptingInputStream;
import com.panops.crypto.format.MessageHeader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
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
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * How a write works: {@code putObject} encrypts the body as it streams (through {@code
 * EncryptingInputStream}), then stores it in one {@code PutObject} (known length up to the
 * threshold, retry-safe by re-encrypting from a new content stream) or a multipart upload (one part
 * in memory, parts growing for unknown lengths, aborted on any failure). See {@link
 * EncryptingS3Client}.
 */
final class PutPath extends S3Path {
  PutPath(S3Client s3, ClientSettings settings) {
    super(
        s3,
        settings.tenants(),
        settings.keyContext(),
        settings.sseKms(),
        settings.legacyPlaintextReads(),
        settings.multipartThreshold(),
        settings.partSize());
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
      throw readFailure(e);
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
          Math.max(declared, -1), // any negative length is an unknown one
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

  /**
   * Stores {@code ct} by multipart upload, or in one {@code PutObject} if it turns out to fit in
   * one part. The part in memory is wiped at the end.
   */
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
    try {
      if (!buf.fill(ct)) {
        return putSinglePart(request, buf); // an unknown-length body that is short
      }
      return uploadParts(request, buf, ct, ctLen);
    } catch (IOException e) {
      throw readFailure(e);
    } finally {
      buf.wipe();
    }
  }

  /** Stores the whole body, which fits in {@code buf}, in one {@code PutObject}. */
  PutObjectResponse putSinglePart(PutObjectRequest request, PartBuffer buf) {
    long n = buf.size();
    byte[] a = buf.array();
    return s3.putObject(
        request.toBuilder().contentLength(n).build(),
        body(() -> new ByteArrayInputStream(a, 0, (int) n), n, request.contentType()));
  }

  /**
   * The multipart upload proper, from the first part already in {@code buf}: create, parts,
   * complete; any failure aborts the upload, so no partial object is ever visible.
   */
  PutObjectResponse uploadParts(
      PutObjectRequest request, PartBuffer buf, InputStream ct, long ctLen) {
    CreateMultipartUploadResponse created = s3.createMultipartUpload(toCreate(request));
    String uploadId = created.uploadId();
    CompleteMultipartUploadResponse done;
    try {
      List<CompletedPart> parts = sendParts(request, uploadId, buf, ct, ctLen);
      done = s3.completeMultipartUpload(toComplete(request, uploadId, parts));
    } catch (IOException e) {
      SdkClientException x = readFailure(e);
      abort(request, uploadId, x);
      throw x;
    } catch (RuntimeException | Error e) {
      abort(request, uploadId, e);
      throw e;
    }
    return toPutResponse(done);
  }

  /**
   * Uploads the part in {@code buf} and every further part read from {@code ct}; parts of a body of
   * unknown length grow as {@link #unknownLengthPartSize} says.
   */
  List<CompletedPart> sendParts(
      PutObjectRequest request, String uploadId, PartBuffer buf, InputStream ct, long ctLen)
      throws IOException {
    List<CompletedPart> parts = new ArrayList<>();
    boolean more = true;
    int number = 0;
    while (true) {
      number++;
      if (number > MAX_PARTS) {
        throw new IllegalArgumentException("object needs more than " + MAX_PARTS + " parts");
      }
      parts.add(sendPart(request, uploadId, number, buf));
      if (!more) {
        return parts;
      }
      if (ctLen < 0) {
        buf.capacity(unknownLengthPartSize(partSize, number + 1));
      }
      more = buf.fill(ct);
    }
  }

  /** Uploads the contents of {@code buf} as part {@code number}. */
  CompletedPart sendPart(PutObjectRequest request, String uploadId, int number, PartBuffer buf) {
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
    return cp.build();
  }

  static SdkClientException readFailure(IOException e) {
    return SdkClientException.create("could not read the request body: " + e.getMessage(), e);
  }

  /**
   * The size of part {@code number} (1-based) of a body of unknown length: the configured size for
   * the first 1,000 parts, then doubling every 1,000 parts up to the 512 MiB memory bound. With the
   * default 8 MiB, 10,000 parts hold about 2.4 TiB (a fixed 8 MiB would hold 78 GiB), while a small
   * body costs one small part in memory. Package-private for tests.
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
