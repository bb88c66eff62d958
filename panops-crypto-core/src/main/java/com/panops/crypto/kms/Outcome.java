package com.panops.crypto.kms;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.AuditSink;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.observe.GuardedMetrics;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** One call's bookkeeping: at its end, one metric and one audit event per attempt. */
final class Outcome {
  private final AuditSink audit;
  private final CryptoMetrics metrics;
  final String operation;
  final String purpose;
  final String tenant;
  final String keyArn;
  final Map<String, String> context;
  final TransportCheck check;
  final Instant start;
  final long t0 = System.nanoTime();

  Outcome(
      AuditSink audit,
      CryptoMetrics metrics,
      String operation,
      String purpose,
      String tenant,
      String keyArn,
      Map<String, String> context,
      TransportCheck check,
      Instant start) {
    this.audit = audit;
    this.metrics = metrics;
    this.operation = operation;
    this.purpose = purpose;
    this.tenant = tenant;
    this.keyArn = keyArn;
    this.context = context;
    this.check = check;
    this.start = start;
  }

  /**
   * @param answered whether the caller got an answer from KMS (a response or a KMS error)
   */
  void end(boolean success, String code, String requestId, boolean answered) {
    long now = System.nanoTime();
    metrics.kmsCall(operation, purpose, success, Duration.ofNanos(now - t0));
    CallAttempts calls = check.attempts;
    List<CallAttempts.Attempt> attempts = calls.attempts();
    if (attempts.isEmpty()) {
      // nothing transmitted through the SDK pipeline (refused before sending, a failure before
      // the first attempt, an in-process client): one event for the call
      record(
          success,
          code,
          requestId,
          Duration.ofNanos(now - t0),
          start,
          1,
          true,
          answered && !"InsecureTransport".equals(code),
          calls.callId);
      return;
    }
    for (CallAttempts.Attempt a : attempts) {
      boolean last = a == attempts.get(attempts.size() - 1);
      long end = last || a.endNanos == 0 ? now : a.endNanos;
      if (last) {
        String id = a.requestId != null ? a.requestId : requestId;
        // a KMS error answer stays this attempt's code even if the call then failed on the
        // client side (a call timeout during the back-off before a retry)
        String c = !success && a.responded && a.errorCode != null ? a.errorCode : code;
        record(
            success,
            c,
            id,
            Duration.ofNanos(end - a.startNanos),
            a.start,
            a.number,
            true,
            a.responded,
            calls.callId);
      } else {
        String c =
            !a.responded ? "NoResponse" : a.errorCode != null ? a.errorCode : "HTTP" + a.status;
        record(
            false,
            c,
            a.requestId,
            Duration.ofNanos(end - a.startNanos),
            a.start,
            a.number,
            false,
            a.responded,
            calls.callId);
      }
    }
  }

  private void record(
      boolean success,
      String code,
      String requestId,
      Duration latency,
      Instant time,
      int attempt,
      boolean last,
      boolean responded,
      String callId) {
    try {
      audit.record(
          new AuditEvent(
              operation, purpose, tenant, keyArn, context, success, code, requestId, latency, time,
              attempt, last, responded, callId));
    } catch (Throwable e) {
      GuardedMetrics.swallow(e, "audit sink");
    }
  }
}
