package com.panops.crypto.kms;

import java.util.Set;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DescribeKeyRequest;
import software.amazon.awssdk.services.kms.model.EncryptRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.KmsRequest;
import software.amazon.awssdk.services.kms.model.ReEncryptRequest;

/**
 * The only KMS operations this library may send: {@code Encrypt}, {@code Decrypt}, {@code
 * ReEncrypt}, {@code GenerateDataKey} and {@code DescribeKey}, exactly what the customer's key
 * policy grants the vendor role.
 *
 * <p>The library's KMS gateway checks every request against this list before calling the SDK. The
 * same check is available as an SDK {@link ExecutionInterceptor} ({@link #interceptor()}) to
 * install on a {@code KmsClient} so that no other code sharing the client can send anything else
 * either: a refused request fails in the client, before it is signed or sent.
 */
public final class KmsAllowList {
  private KmsAllowList() {}

  private static final Set<Class<? extends KmsRequest>> ALLOWED =
      Set.of(
          EncryptRequest.class,
          DecryptRequest.class,
          ReEncryptRequest.class,
          GenerateDataKeyRequest.class,
          DescribeKeyRequest.class);

  /** Whether {@code request} is one of the five permitted operations. */
  public static boolean isAllowed(SdkRequest request) {
    return request != null && ALLOWED.contains(request.getClass());
  }

  /**
   * Throws if {@code request} is not permitted.
   *
   * @throws SdkClientException naming the refused operation
   */
  public static void check(SdkRequest request) {
    if (!isAllowed(request)) {
      throw SdkClientException.create(
          "panops-crypto refuses to send KMS operation "
              + (request == null ? "null" : request.getClass().getSimpleName())
              + ": only Encrypt, Decrypt, ReEncrypt, GenerateDataKey and DescribeKey are allowed");
    }
  }

  /** An SDK interceptor that refuses every other operation before it is sent. Thread-safe. */
  public static ExecutionInterceptor interceptor() {
    return new ExecutionInterceptor() {
      @Override
      public void beforeExecution(
          Context.BeforeExecution context, ExecutionAttributes executionAttributes) {
        check(context.request());
      }
    };
  }
}
