package com.panops.crypto.s3;

import com.panops.crypto.adapter.AdapterAccess;
import com.panops.crypto.format.MessageHeader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * How a read works: a whole-object GET decrypts frame by frame as the caller reads; a ranged GET
 * fetches the header prefix, then only the frames that cover the range, pinned to the same object
 * (and starts again once if it was replaced in between); {@code headObject} reports plaintext
 * lengths; responses lose the adapter's metadata and every stored checksum. See {@link
 * EncryptingS3Client}.
 */
final class GetPath extends S3Path {
  GetPath(S3Path settings) {
    super(settings);
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
   * Reads and decrypts an object into a new file at {@code destination} through a {@link
   * FileDownload}: the plaintext reaches {@code destination} only once every frame has been
   * authenticated; after a failure (tamper, truncation, revoked key) no file, and so no partial
   * plaintext, is left there. If the claimed file was replaced or written to meanwhile, it is left
   * as it is and the download fails.
   *
   * @throws SdkClientException if {@code destination} exists, or was replaced or written to during
   *     the download (caused by {@link java.nio.file.FileAlreadyExistsException}, as the SDK's file
   *     transformer reports an existing file)
   */
  public GetObjectResponse getObject(GetObjectRequest request, Path destination) {
    Objects.requireNonNull(destination, "destination");
    FileDownload download = FileDownload.claim(destination);
    boolean moved = false;
    try {
      GetObjectResponse r = getObject(request, download::receive);
      download.moveIntoPlace();
      moved = true;
      return r;
    } finally {
      if (!moved) {
        download.discard();
      }
    }
  }

  <ReturnT> ReturnT fullGet(
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
      InputStream frames =
          AdapterAccess.decryptFrames(tenant.get(), h, ctLen, 0, last, raw, c.keyContext, c.aad);
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
  <ReturnT> ReturnT rangedGet(
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
  static final class ReplacedMeanwhile extends RuntimeException {
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
  GetObjectRequest.Builder pinnedTo(GetObjectRequest request, GetObjectResponse first) {
    GetObjectRequest.Builder b = request.toBuilder();
    if (request.versionId() == null && first.versionId() != null) {
      b.versionId(first.versionId());
    } else if (request.versionId() == null && request.ifMatch() == null && first.eTag() != null) {
      b.ifMatch(first.eTag());
    }
    return b;
  }

  <ReturnT> ReturnT pinnedGet(
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

  <ReturnT> ReturnT rangedGetOnce(
      GetObjectRequest request,
      RangePlan.Request range,
      ResponseTransformer<GetObjectResponse, ReturnT> transformer,
      Ctx c) {
    Prefix p = fetchPrefix(request);
    if (p.layout == null) {
      return storedRangedGet(request, transformer, p);
    }
    try {
      long[] se = range.resolve(p.plaintextLength);
      if (se == null) {
        throw invalidRange(range, p.plaintextLength);
      }
      RangePlan plan = RangePlan.of(se[0], se[1], p.header.geometry(), p.ciphertextLength);
      RangeFrames source =
          plan.ciphertextEnd < p.bytes.length
              ? RangeFrames.inPrefix(p, plan)
              : fetchFrames(request, p, plan);
      InputStream decrypted = decryptRange(p, plan, source, c);
      InputStream plaintext = new PlaintextStream(decrypted, plan.skip, plan.length(), () -> {});
      GetObjectResponse response =
          plaintextResponse(source.base, plan.length(), plan.contentRange(p.plaintextLength));
      return transform(transformer, response, plaintext, source.raw);
    } catch (RuntimeException e) {
      throw unwrap(e);
    }
  }

  /**
   * A ranged read of an object found to be plaintext (with legacy reads allowed): the caller's own
   * range, as stored, of that very object, since one replaced by an encrypted object meanwhile must
   * not be returned as plaintext.
   */
  <ReturnT> ReturnT storedRangedGet(
      GetObjectRequest request,
      ResponseTransformer<GetObjectResponse, ReturnT> transformer,
      Prefix p) {
    if (!legacyPlaintextReads) {
      throw notEncrypted();
    }
    if (p.response == null) {
      return s3.getObject(request, transformer); // an empty object: S3 answers the range
    }
    return pinnedGet(pinnedTo(request, p.response).build(), request, transformer);
  }

  /**
   * The ciphertext frames a ranged read decrypts, the response its answer is built on, and the
   * response stream to abort and close with it (null when the frames came with the prefix).
   */
  record RangeFrames(
      InputStream frames, GetObjectResponse base, ResponseInputStream<GetObjectResponse> raw) {

    /** The frames are all within the prefix already fetched. */
    static RangeFrames inPrefix(Prefix p, RangePlan plan) {
      InputStream frames =
          new ByteArrayInputStream(
              p.bytes,
              (int) plan.ciphertextStart,
              (int) (plan.ciphertextEnd - plan.ciphertextStart + 1));
      return new RangeFrames(frames, p.response, null);
    }
  }

  /**
   * The second GET of a ranged read: only the frames of {@code plan}, from the object the prefix
   * came from, which must still report the length the prefix did.
   */
  RangeFrames fetchFrames(GetObjectRequest request, Prefix p, RangePlan plan) {
    GetObjectRequest second =
        pinnedTo(request, p.response) // the same object as the header came from
            .range("bytes=" + plan.ciphertextStart + "-" + plan.ciphertextEnd)
            .checksumMode((String) null)
            .build();
    ResponseInputStream<GetObjectResponse> raw =
        pinnedGet(second, request, ResponseTransformer.toInputStream());
    Long total = totalLength(raw.response());
    if (total == null || total != p.ciphertextLength) {
      raw.abort();
      closeQuietly(raw);
      throw Errors.integrity();
    }
    return new RangeFrames(raw, raw.response(), raw);
  }

  /** The decrypting stream over the frames of {@code plan}; the source is aborted if it fails. */
  InputStream decryptRange(Prefix p, RangePlan plan, RangeFrames source, Ctx c) {
    try {
      return AdapterAccess.decryptFrames(
          tenant.get(),
          p.header,
          p.ciphertextLength,
          plan.firstFrame,
          plan.lastFrame,
          source.frames,
          c.keyContext,
          c.aad);
    } catch (RuntimeException e) {
      if (source.raw != null) {
        source.raw.abort();
        closeQuietly(source.raw);
      }
      throw e;
    }
  }

  static S3Exception invalidRange(RangePlan.Request range, long length) {
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

  <ReturnT> ReturnT transform(
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

  static GetObjectResponse plaintextResponse(
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
  static SdkHttpResponse plaintextHttp(
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
}
