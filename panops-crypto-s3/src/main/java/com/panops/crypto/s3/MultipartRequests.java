package com.panops.crypto.s3;

import java.util.List;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;

/**
 * How a {@code PutObject} request's settings carry over to the multipart upload that stores its
 * body: object settings on the create, SSE-C, payer and owner on every part and on the complete,
 * conditions on the complete; and the complete's answer as a {@code PutObject} response.
 */
final class MultipartRequests {
  private MultipartRequests() {}

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

  static CompleteMultipartUploadRequest toComplete(
      PutObjectRequest request, String uploadId, List<CompletedPart> parts) {
    return CompleteMultipartUploadRequest.builder()
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
        .build();
  }

  static PutObjectResponse toPutResponse(CompleteMultipartUploadResponse done) {
    return PutObjectResponse.builder()
        .eTag(done.eTag())
        .versionId(done.versionId())
        .expiration(done.expiration())
        .serverSideEncryption(done.serverSideEncryptionAsString())
        .ssekmsKeyId(done.ssekmsKeyId())
        .bucketKeyEnabled(done.bucketKeyEnabled())
        .requestCharged(done.requestChargedAsString())
        .build();
  }
}
