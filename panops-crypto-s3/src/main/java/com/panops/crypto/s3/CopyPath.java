package com.panops.crypto.s3;

import java.io.InputStream;
import java.util.Objects;
import java.util.function.Supplier;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.model.CopyObjectRequest;
import software.amazon.awssdk.services.s3.model.CopyObjectResponse;
import software.amazon.awssdk.services.s3.model.CopyObjectResult;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.MetadataDirective;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.TaggingDirective;

/**
 * How a copy works: the source is read and authenticated through {@link GetPath} and encrypted anew
 * for its destination through {@link PutPath} (a server-side copy cannot work: the message AAD
 * binds the object key). A retried {@code PutObject} reads the source again, pinned by version id
 * or ETag; a failure aborts every source stream. See {@link EncryptingS3Client#copyObject}.
 */
final class CopyPath extends S3Path {
  private final GetPath reads;
  private final PutPath writes;

  CopyPath(PutPath writes, GetPath reads) {
    super(writes);
    this.writes = writes;
    this.reads = reads;
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
  public CopyObjectResponse copyObject(CopyObjectRequest request) {
    Objects.requireNonNull(request, "request");
    GetObjectRequest.Builder get = sourceRequest(request);
    OpenedStreams opened = new OpenedStreams();
    try {
      ResponseInputStream<GetObjectResponse> src =
          opened.add(reads.getObject(get.build(), ResponseTransformer.toInputStream()));
      GetObjectResponse s = src.response();
      PutObjectRequest put = destinationRequest(request, s);
      long length = s.contentLength();
      Supplier<InputStream> source = source(src, pinnedSource(get, s), s, opened);
      PutObjectResponse done = writes.putPlaintext(put, source, length, put.contentType());
      opened.closeAll();
      return response(done, s);
    } catch (RuntimeException | Error e) {
      opened.abortAll(); // never drain the rest of the source, never keep its connection
      throw e;
    }
  }

  /** The read of the source: its version, its preconditions, its SSE-C key, the request's payer. */
  private static GetObjectRequest.Builder sourceRequest(CopyObjectRequest request) {
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
    return get;
  }

  /**
   * The write of the destination: ACLs, object lock, storage class and encryption from the request;
   * metadata and content headers from the source unless the directive is {@code REPLACE}; tags from
   * the source unless the tagging directive is {@code REPLACE}.
   */
  private PutObjectRequest destinationRequest(CopyObjectRequest request, GetObjectResponse s) {
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
    copyMetadata(put, request, s);
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
    return put.build();
  }

  /** User metadata and content headers: the request's with {@code REPLACE}, else the source's. */
  private static void copyMetadata(
      PutObjectRequest.Builder put, CopyObjectRequest request, GetObjectResponse s) {
    if (request.metadataDirective() == MetadataDirective.REPLACE) {
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
  }

  /** The source read again for a retried PutObject: pinned to the same version or ETag. */
  private static GetObjectRequest pinnedSource(GetObjectRequest.Builder get, GetObjectResponse s) {
    GetObjectRequest.Builder again = get.build().toBuilder().ifNoneMatch(null);
    if (s.versionId() != null) {
      again.versionId(s.versionId());
    } else if (s.eTag() != null) {
      again.ifMatch(s.eTag()).ifModifiedSince(null).ifUnmodifiedSince(null);
    }
    return again.build();
  }

  /**
   * The plaintext of the source: the stream already open first, then a new read of {@code pinned}
   * for each retry, which must have the same length.
   */
  private Supplier<InputStream> source(
      InputStream src, GetObjectRequest pinned, GetObjectResponse s, OpenedStreams opened) {
    InputStream[] first = {src};
    return () -> {
      synchronized (first) {
        if (first[0] != null) {
          InputStream in = first[0];
          first[0] = null;
          return in;
        }
      }
      ResponseInputStream<GetObjectResponse> re =
          opened.add(reads.getObject(pinned, ResponseTransformer.toInputStream()));
      if (!Objects.equals(re.response().contentLength(), s.contentLength())) {
        throw Errors.integrity();
      }
      return re;
    };
  }

  private static CopyObjectResponse response(PutObjectResponse done, GetObjectResponse s) {
    return CopyObjectResponse.builder()
        .copyObjectResult(CopyObjectResult.builder().eTag(done.eTag()).build())
        .versionId(done.versionId())
        .copySourceVersionId(s.versionId())
        .serverSideEncryption(done.serverSideEncryptionAsString())
        .ssekmsKeyId(done.ssekmsKeyId())
        .bucketKeyEnabled(done.bucketKeyEnabled())
        .expiration(done.expiration())
        .build();
  }
}
