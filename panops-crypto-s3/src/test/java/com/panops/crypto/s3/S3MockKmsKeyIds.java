package com.panops.crypto.s3;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpRequest;

/**
 * S3Mock accepts an SSE-KMS key only as a bare key id (the part after {@code key/}), where real S3
 * also accepts the full ARN (and needs it for a key in another account, as a customer's CMK is).
 * This interceptor, on the test's raw client only, records the key ARN the adapter sent and
 * rewrites it to the bare id S3Mock knows.
 */
final class S3MockKmsKeyIds implements ExecutionInterceptor {
  static final String HEADER = "x-amz-server-side-encryption-aws-kms-key-id";

  /**
   * The last key id header value sent per request path (the object key; the bucket is added later).
   */
  final Map<String, String> sent = new ConcurrentHashMap<>();

  @Override
  public SdkHttpRequest modifyHttpRequest(
      Context.ModifyHttpRequest context, ExecutionAttributes executionAttributes) {
    SdkHttpRequest r = context.httpRequest();
    List<String> v = r.headers().get(HEADER);
    if (v == null || v.isEmpty()) {
      return r;
    }
    String arn = v.get(0);
    sent.put(r.encodedPath(), arn);
    int slash = arn.lastIndexOf('/');
    return slash < 0 ? r : r.toBuilder().putHeader(HEADER, arn.substring(slash + 1)).build();
  }
}
