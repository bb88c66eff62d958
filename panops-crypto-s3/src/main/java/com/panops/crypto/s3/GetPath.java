package com.panops.crypto.s3;

import com.panops.crypto.adapter.AdapterAccess;
import com.panops.crypto.format.MessageHeader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
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
   * Reads and decrypts an object into a new file at {@code destination}. The destination is claimed
   * first (created empty, as the SDK's own file transformer creates it), so a file that another
   * process creates there meanwhile fails that process's create, not this download. The plaintext
   * is written to a temporary file beside it and moved over the claimed, still empty file only once
   * every frame has been authenticated: after a failure (tamper, truncation, revoked key) no file,
   * and so no partial plaintext, is left at {@code destination}, and the temporary file is deleted.
   * If the claimed file was replaced or written to meanwhile, it is left as it is and the download
   * fails.
   *
   * @throws SdkClientException if {@code destination} exists, or was replaced or written to during
   *     the download (caused by {@link java.nio.file.FileAlreadyExistsException}, as the SDK's file
   *     transformer reports an existing file)
   */
  public GetObjectResponse getObject(GetObjectRequest request, Path destination) {
    Objects.requireNonNull(destination, "destination");
    Path target = destination.toAbsolutePath();
    Object claim;
    try {
      Files.createFile(target);
      claim = fileKey(target);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw SdkClientException.create("file already exists: " + destination, e);
    } catch (IOException e) {
      throw SdkClientException.create("could not create " + destination, e);
    }
    Path tmp;
    try {
      tmp = Files.createTempFile(target.getParent(), ".panops-get-", ".part");
    } catch (IOException e) {
      releaseClaim(target, claim);
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
      // Replace only our own empty claim. Between this check and the rename only a process that
      // deletes or renames our file and puts another in its place within microseconds could lose
      // its file; every create, and every write into the claimed file, is detected.
      if (!stillOurClaim(target, claim)) {
        throw SdkClientException.create(
            "file already exists: "
                + destination
                + " was replaced or written to during the download; left as it is",
            new java.nio.file.FileAlreadyExistsException(destination.toString()));
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
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
        releaseClaim(target, claim);
      }
    }
  }

  /** The file's identity (inode) where the file system has one, else its creation time. */
  private static Object fileKey(Path p) throws IOException {
    BasicFileAttributes a =
        Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    return a.fileKey() != null ? a.fileKey() : a.creationTime();
  }

  /** Whether {@code p} is still the empty file this download created. */
  private static boolean stillOurClaim(Path p, Object claim) {
    try {
      BasicFileAttributes a =
          Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      Object key = a.fileKey() != null ? a.fileKey() : a.creationTime();
      return a.isRegularFile() && a.size() == 0 && key.equals(claim);
    } catch (IOException e) {
      return false;
    }
  }

  /** Deletes the claimed destination if it is still ours and empty. */
  private static void releaseClaim(Path p, Object claim) {
    if (stillOurClaim(p, claim)) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // best effort: an empty file
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
      RangePlan plan = RangePlan.of(se[0], se[1], p.header.geometry(), p.ciphertextLength);
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
            AdapterAccess.decryptFrames(
                tenant.get(),
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
