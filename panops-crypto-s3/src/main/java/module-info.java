/**
 * panops-crypto-s3: an encrypting {@code S3Client} decorator. Exports only {@code
 * com.panops.crypto.s3}; a new package is internal until it is listed here.
 */
module com.panops.crypto.s3 {
  requires transitive com.panops.crypto;
  requires transitive software.amazon.awssdk.services.s3;
  // RequestBody, ResponseTransformer, SdkClientException appear in the API
  requires transitive software.amazon.awssdk.core;
  requires transitive software.amazon.awssdk.awscore;
  requires software.amazon.awssdk.http;

  exports com.panops.crypto.s3;
}
