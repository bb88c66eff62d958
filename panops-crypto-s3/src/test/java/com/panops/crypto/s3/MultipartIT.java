package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

class MultipartIT {
  @Test
  void largeBody_isUploadedInPartsOfAtLeast5MiB_andReadsBack() throws Exception {
    S3TestEnv env = S3TestEnv.get();
    String bucket = env.freshBucket();
    long size = 23L * 1024 * 1024 + 77;
    try (PanopsCrypto crypto = env.crypto("t", env.freshKey());
        EncryptingS3Client s3 =
            env.client(crypto, "t").multipartThreshold(16L * 1024 * 1024).build()) {
      s3.putObject(
          PutObjectRequest.builder().bucket(bucket).key("big").build(),
          RequestBody.fromContentProvider(() -> new PatternStream(9, size), size, "x/y"));
      String etag = env.raw.headObject(r -> r.bucket(bucket).key("big")).eTag();
      assertTrue(etag.replace("\"", "").endsWith("-3"), "3 parts of 8 MiB: " + etag);
      try (ResponseInputStream<GetObjectResponse> in =
          s3.getObject(r -> r.bucket(bucket).key("big"))) {
        assertEquals(S3TestEnv.sha256(new PatternStream(9, size)), S3TestEnv.sha256(in));
      }
      assertEquals(size, s3.headObject(r -> r.bucket(bucket).key("big")).contentLength());
    }
  }

  @Test
  void failingBodyMidUpload_abortsTheUpload_andNoObjectIsVisible() {
    S3TestEnv env = S3TestEnv.get();
    String bucket = env.freshBucket();
    Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    ExecutionInterceptor counting =
        new ExecutionInterceptor() {
          @Override
          public void afterExecution(
              Context.AfterExecution context, ExecutionAttributes attributes) {
            calls
                .computeIfAbsent(
                    context.request().getClass().getSimpleName(), k -> new AtomicInteger())
                .incrementAndGet();
          }
        };
    try (PanopsCrypto crypto = env.crypto("t", env.freshKey());
        EncryptingS3Client s3 = env.client(crypto, "t", counting).build()) {
      InputStream failing =
          new InputStream() {
            final InputStream data = new PatternStream(1, 30L * 1024 * 1024);
            long read;

            @Override
            public int read() throws IOException {
              throw new UnsupportedOperationException();
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
              if (read > 20L * 1024 * 1024) {
                throw new IOException("connection to the source lost");
              }
              int n = data.read(b, off, len);
              read += Math.max(n, 0);
              return n;
            }
          };
      assertThrows(
          Exception.class,
          () ->
              s3.putObject(
                  PutObjectRequest.builder().bucket(bucket).key("partial").build(), failing));
      assertThrows(
          NoSuchKeyException.class, () -> env.raw.headObject(r -> r.bucket(bucket).key("partial")));
      assertEquals(
          0,
          env.raw.listMultipartUploads(r -> r.bucket(bucket)).uploads().size(),
          "the multipart upload was aborted");
      // and it had really started: created, parts sent (20 MiB before the failure), then aborted
      assertEquals(1, calls.get("CreateMultipartUploadRequest").get(), calls.toString());
      assertTrue(calls.get("UploadPartRequest").get() >= 2, calls.toString());
      assertEquals(1, calls.get("AbortMultipartUploadRequest").get(), calls.toString());
      assertEquals(null, calls.get("CompleteMultipartUploadRequest"), calls.toString());
    }
  }
}
