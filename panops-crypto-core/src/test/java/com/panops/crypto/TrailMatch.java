package com.panops.crypto;

import com.panops.crypto.testkit.TrailEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Matches the library's audit events with the customer's trail one to one, on what a real
 * CloudTrail record carries: the request id for every attempt that got a response; for an attempt
 * whose response never arrived, the call id in the record's user agent ({@code panops-call/<id>}),
 * the operation, the key and the context. The caller is compared by role ({@code
 * sessionContext.sessionIssuer.arn}), since session names differ per worker.
 */
public final class TrailMatch {
  private TrailMatch() {}

  /** What did not match; empty when the two sides agree one to one. */
  public static List<String> problems(
      List<AuditEvent> audit, List<TrailEvent> trail, String vendorRoleArn) {
    List<String> problems = new ArrayList<>();
    List<TrailEvent> vendor = new ArrayList<>();
    for (TrailEvent t : trail) {
      if (vendorRoleArn.equals(t.roleArn())) {
        vendor.add(t);
      }
    }
    Map<String, TrailEvent> byId = new HashMap<>();
    for (TrailEvent t : vendor) {
      if (byId.put(t.requestId(), t) != null) {
        problems.add("two trail records with request id " + t.requestId());
      }
    }
    Set<TrailEvent> used = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    Set<String> auditIds = new HashSet<>();
    List<AuditEvent> lost = new ArrayList<>();
    for (AuditEvent a : audit) {
      if (a.requestId() == null) {
        if (a.responseReceived()) {
          problems.add("a response without a request id: " + a);
        } else {
          lost.add(a);
        }
        continue;
      }
      if (!auditIds.add(a.requestId())) {
        problems.add("two audit events with request id " + a.requestId());
      }
      TrailEvent t = byId.get(a.requestId());
      if (t == null) {
        problems.add("audit event without its trail record: " + a);
      } else if (!agrees(a, t)) {
        problems.add("audit event and trail record disagree: " + a + " / " + t);
      } else {
        used.add(t);
      }
    }
    for (AuditEvent a : lost) {
      // KMS may or may not have handled it: at most one trail record, of this call, unmatched
      TrailEvent match = null;
      for (TrailEvent t : vendor) {
        if (!used.contains(t)
            && a.callId() != null
            && t.userAgent() != null
            && t.userAgent().contains("panops-call/" + a.callId())
            && sameCall(a, t)) {
          match = t;
          break;
        }
      }
      if (match != null) {
        used.add(match);
      }
    }
    for (TrailEvent t : vendor) {
      if (!used.contains(t)) {
        problems.add("trail record without its audit event: " + t);
      }
    }
    return problems;
  }

  static boolean sameCall(AuditEvent a, TrailEvent t) {
    String key = "ReEncrypt".equals(t.eventName()) ? t.destinationKeyId() : t.keyId();
    Map<String, String> ctx =
        "ReEncrypt".equals(t.eventName())
            ? t.destinationEncryptionContext()
            : t.encryptionContext();
    return a.operation().equals(t.eventName())
        && a.keyArn().equals(key)
        && a.encryptionContext().equals(ctx);
  }

  static boolean agrees(AuditEvent a, TrailEvent t) {
    return sameCall(a, t)
        && a.success() == !t.failed()
        && (a.success() || Objects.equals(a.errorCode(), t.errorCode()));
  }
}
