package com.panops.crypto.kms;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpResponse;

/**
 * The attempts of one KMS call, as the SDK sends them: one per transmission, retries included.
 * Added to every KMS request by the same request-level plugin as {@link TransportCheck} (after it,
 * so a refused attempt is never counted as sent). For each attempt it records when it was sent,
 * whether an HTTP response came back, and then the response's status, KMS request id ({@code
 * x-amzn-RequestId}) and, for an error response, KMS's error code ({@code __type} in the body; the
 * body of an error response holds no key material, and that of a successful one is never read
 * here). An attempt followed by another attempt or by the end of the call without a response is one
 * whose answer never arrived: KMS may still have done the work and recorded it in CloudTrail.
 *
 * <p>The call's id ({@link #callId}) goes out in every attempt's {@code User-Agent} as {@code
 * panops-call/<id>}; CloudTrail records the user agent, so a trail record can be tied to its call
 * even when its response (and so its request id) was lost. One instance per call. Internal.
 */
final class CallAttempts implements ExecutionInterceptor {

  /** At most this much of an error response's body is read to find its error code. */
  private static final int MAX_ERROR_PEEK = 8192;

  private static final Pattern TYPE = Pattern.compile("\"__type\"\\s*:\\s*\"([^\"]{1,256})\"");

  /** One attempt; fields are written by the SDK's calling thread and read after the call. */
  static final class Attempt {
    final int number;
    final Instant start;
    final long startNanos;
    volatile long endNanos;
    volatile boolean responded;
    volatile int status;
    volatile String requestId;
    volatile String errorCode;

    Attempt(int number, Instant start, long startNanos) {
      this.number = number;
      this.start = start;
      this.startNanos = startNanos;
    }
  }

  final String callId = UUID.randomUUID().toString();
  private final Clock clock;
  private final List<Attempt> attempts = new ArrayList<>();

  CallAttempts(Clock clock) {
    this.clock = clock;
  }

  /** The attempts sent so far, in order. */
  synchronized List<Attempt> attempts() {
    return List.copyOf(attempts);
  }

  private synchronized Attempt current() {
    return attempts.isEmpty() ? null : attempts.get(attempts.size() - 1);
  }

  @Override
  public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attrs) {
    long now = System.nanoTime();
    synchronized (this) {
      Attempt previous = current();
      if (previous != null && previous.endNanos == 0) {
        previous.endNanos = now; // its answer never arrived; the SDK is trying again
      }
      attempts.add(new Attempt(attempts.size() + 1, clock.instant(), now));
    }
  }

  @Override
  public void afterTransmission(Context.AfterTransmission context, ExecutionAttributes attrs) {
    Attempt a = current();
    if (a == null) {
      return;
    }
    SdkHttpResponse r = context.httpResponse();
    a.status = r.statusCode();
    a.requestId = r.firstMatchingHeader("x-amzn-RequestId").orElse(null);
    a.responded = true;
    a.endNanos = System.nanoTime();
  }

  @Override
  public Optional<InputStream> modifyHttpResponseContent(
      Context.ModifyHttpResponse context, ExecutionAttributes attrs) {
    Optional<InputStream> body = context.responseBody();
    Attempt a = current();
    if (a == null || body.isEmpty() || context.httpResponse().isSuccessful()) {
      return body; // never read a successful answer: it may hold a plaintext data key
    }
    InputStream in = body.get();
    byte[] head;
    try {
      head = in.readNBytes(MAX_ERROR_PEEK);
    } catch (IOException e) {
      return body; // the SDK will see the same failure when it reads
    }
    Matcher m = TYPE.matcher(new String(head, StandardCharsets.UTF_8));
    if (m.find()) {
      String type = m.group(1);
      int hash = type.lastIndexOf('#');
      type = hash >= 0 ? type.substring(hash + 1) : type;
      int colon = type.indexOf(':');
      a.errorCode = colon >= 0 ? type.substring(0, colon) : type;
    }
    return Optional.of(new SequenceInputStream(new ByteArrayInputStream(head), in));
  }
}
