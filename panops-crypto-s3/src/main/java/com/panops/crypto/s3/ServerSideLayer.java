package com.panops.crypto.s3;

/**
 * What S3 is asked to add at rest beneath the client-side layer of an {@link EncryptingS3Client}.
 */
public enum ServerSideLayer {
  /** Nothing asked: the bucket's default encryption applies (the default). */
  BUCKET_DEFAULT,
  /**
   * SSE-KMS under the tenant's current CMK ({@code x-amz-server-side-encryption: aws:kms} and its
   * key id), so that disabling the key also makes S3 refuse to serve the object.
   */
  SSE_KMS
}
