package com.panops.crypto.s3;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.SdkHttpResponse;

/**
 * A store double for dual-layer SSE-KMS (DSSE), which S3Mock does not implement: on the wire of a
 * real S3Client against S3Mock, a PutObject that asks for {@code aws:kms:dsse} is stored by S3Mock
 * as single-layer SSE-KMS under the same key, and remembered here; GetObject and HeadObject of that
 * object then report {@code aws:kms:dsse}, as S3 does. A later PutObject of the object in another
 * mode forgets it. Objects are told apart by request path (as the SDK has it when requests are
 * modified, before the path-style bucket is added; a response's request path ends with it).
 */
final class DsseReportingStore implements ExecutionInterceptor {
  static final String SSE = "x-amz-server-side-encryption";
  static final String DSSE = "aws:kms:dsse";

  /** Paths stored as DSSE. */
  final Map<String, Boolean> dsse = new ConcurrentHashMap<>();

  /** Every SSE mode a PutObject asked for, by path, in order. */
  final Map<String, List<String>> asked = new ConcurrentHashMap<>();

  @Override
  public SdkHttpRequest modifyHttpRequest(Context.ModifyHttpRequest c, ExecutionAttributes a) {
    SdkHttpRequest r = c.httpRequest();
    if (r.method() != SdkHttpMethod.PUT || r.rawQueryParameters().containsKey("tagging")) {
      return r;
    }
    String mode = r.firstMatchingHeader(SSE).orElse(null);
    asked
        .computeIfAbsent(r.encodedPath(), p -> new java.util.concurrent.CopyOnWriteArrayList<>())
        .add(String.valueOf(mode));
    if (DSSE.equals(mode)) {
      dsse.put(r.encodedPath(), Boolean.TRUE);
      return r.toBuilder().putHeader(SSE, "aws:kms").build();
    }
    dsse.remove(r.encodedPath());
    return r;
  }

  @Override
  public SdkHttpResponse modifyHttpResponse(Context.ModifyHttpResponse c, ExecutionAttributes a) {
    SdkHttpRequest r = c.httpRequest();
    SdkHttpResponse resp = c.httpResponse();
    boolean read = r.method() == SdkHttpMethod.GET || r.method() == SdkHttpMethod.HEAD;
    if (read
        && !r.rawQueryParameters().containsKey("tagging")
        && dsse.keySet().stream().anyMatch(p -> r.encodedPath().endsWith(p))
        && resp.firstMatchingHeader(SSE).isPresent()) {
      return resp.toBuilder().putHeader(SSE, DSSE).build();
    }
    return resp;
  }
}
