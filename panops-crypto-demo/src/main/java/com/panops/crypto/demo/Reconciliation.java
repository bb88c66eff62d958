package com.panops.crypto.demo;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.testkit.TrailEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The library's audit events (one per KMS attempt) next to the customer's CloudTrail (LocalKms's
 * trail), matched one to one on what a real CloudTrail record carries: by KMS request id for every
 * attempt that got a response, and that record must agree on operation, key, encryption context and
 * outcome; an attempt whose response never arrived (no request id) matches at most one record of
 * its call ({@code panops-call/<callId>} in the record's {@code userAgent}) with the same
 * operation, key and context. Callers are compared by role ({@code
 * userIdentity.sessionContext.sessionIssuer.arn}): workers run as assumed-role sessions whose
 * session names differ. Every trail record of the vendor's role must have its audit event (except
 * calls the demo made itself, outside the library, which it names). The customer administrator's
 * own actions appear only in the trail.
 */
final class Reconciliation {

  /** One line of the table: calls of one kind, counted on both sides. */
  record Row(
      String operation, String purpose, String outcome, int library, int trail, int matched) {}

  /** The outcome, for the summary and the test. */
  record Summary(
      int auditEvents,
      int auditMatched,
      int auditMismatched,
      int auditWithoutTrail,
      int auditNoResponseWithoutTrail,
      int vendorTrailRecords,
      int vendorTrailMatched,
      int vendorTrailWithoutAudit,
      int demoDirectCalls,
      int otherPrincipalRecords,
      Map<String, Integer> adminActions,
      List<Row> rows) {

    /**
     * Every audit event matched (or is an attempt without a response that never reached KMS), and
     * every vendor trail record is accounted for.
     */
    boolean reconciled() {
      return auditEvents > 0
          && auditMatched + auditNoResponseWithoutTrail == auditEvents
          && vendorTrailWithoutAudit == 0
          && otherPrincipalRecords == 0;
    }
  }

  private Reconciliation() {}

  static Summary of(
      List<AuditEvent> audit,
      List<TrailEvent> trail,
      String vendorRoleArn,
      String adminRoleArn,
      Set<String> demoDirectRequestIds) {
    AuditSide a = new AuditSide(audit, trail, vendorRoleArn);
    audit.forEach(a::match);
    TrailSide t = new TrailSide();
    trail.forEach(r -> t.count(r, a, vendorRoleArn, adminRoleArn, demoDirectRequestIds));
    return new Summary(
        audit.size(),
        a.matched,
        a.mismatched,
        a.withoutTrail,
        a.noResponseWithoutTrail,
        t.vendorRecords,
        t.vendorMatched,
        t.vendorWithout,
        t.direct,
        t.other,
        t.admin,
        a.rows());
  }

  /** The audit events, each matched against the trail and counted per kind of call. */
  private static final class AuditSide {
    private final List<TrailEvent> trail;
    private final String vendorRoleArn;
    private final Map<String, TrailEvent> trailById = new HashMap<>();
    private final Map<String, AuditEvent> auditById = new HashMap<>();
    private final Map<String, int[]> groups = new TreeMap<>(); // {library, trail, matched}
    private final Set<String> matchedByCall = new HashSet<>();
    int matched;
    int mismatched;
    int withoutTrail;
    int noResponseWithoutTrail;

    AuditSide(List<AuditEvent> audit, List<TrailEvent> trail, String vendorRoleArn) {
      this.trail = trail;
      this.vendorRoleArn = vendorRoleArn;
      for (TrailEvent t : trail) {
        if (t.requestId() != null) {
          trailById.put(t.requestId(), t);
        }
      }
      // records answered to an attempt are that attempt's, never a lost attempt's
      for (AuditEvent a : audit) {
        if (a.requestId() != null) {
          matchedByCall.add(a.requestId());
        }
      }
    }

    void match(AuditEvent a) {
      if (a.requestId() != null) {
        auditById.put(a.requestId(), a);
      }
      if (a.requestId() == null && !a.responseReceived()) {
        matchLost(a);
        return;
      }
      String outcome = a.success() ? "success" : Objects.toString(a.errorCode(), "failure");
      int[] g = group(a, outcome);
      g[0]++;
      TrailEvent t = a.requestId() == null ? null : trailById.get(a.requestId());
      if (t == null) {
        withoutTrail++;
        return;
      }
      g[1]++;
      if (agrees(a, t, vendorRoleArn)) {
        matched++;
        g[2]++;
      } else {
        mismatched++;
      }
    }

    /** An attempt whose response never arrived: matched by its call id, if KMS has it. */
    private void matchLost(AuditEvent a) {
      int[] g = group(a, "no response");
      g[0]++;
      TrailEvent t = lostAttemptRecord(a, trail, vendorRoleArn, matchedByCall);
      if (t == null) {
        noResponseWithoutTrail++; // never reached KMS
      } else {
        matchedByCall.add(t.requestId());
        g[1]++;
        g[2]++;
        matched++;
      }
    }

    private int[] group(AuditEvent a, String outcome) {
      return groups.computeIfAbsent(
          a.operation() + "\u0000" + a.purpose() + "\u0000" + outcome, k -> new int[3]);
    }

    /** The trail record with this request id has its audit event (or a lost attempt's). */
    boolean explains(String requestId) {
      return auditById.containsKey(requestId) || matchedByCall.contains(requestId);
    }

    List<Row> rows() {
      List<Row> rows = new ArrayList<>();
      for (Map.Entry<String, int[]> e : groups.entrySet()) {
        String[] k = e.getKey().split("\u0000", -1);
        int[] g = e.getValue();
        rows.add(new Row(k[0], k[1], k[2], g[0], g[1], g[2]));
      }
      return rows;
    }
  }

  /** The trail's records, counted by who made them and whether an audit event explains them. */
  private static final class TrailSide {
    int vendorRecords;
    int vendorMatched;
    int vendorWithout;
    int direct;
    int other;
    final Map<String, Integer> admin = new TreeMap<>();

    void count(
        TrailEvent t,
        AuditSide audit,
        String vendorRoleArn,
        String adminRoleArn,
        Set<String> demoDirectRequestIds) {
      if (adminRoleArn.equals(t.roleArn())) {
        admin.merge(t.eventName(), 1, Integer::sum);
      } else if (vendorRoleArn.equals(t.roleArn())) {
        vendorRecords++;
        if (demoDirectRequestIds.contains(t.requestId())) {
          direct++;
        } else if (audit.explains(t.requestId())) {
          vendorMatched++;
        } else {
          vendorWithout++;
        }
      } else {
        other++;
      }
    }
  }

  /**
   * The trail record of an attempt whose response never arrived: the first not yet matched record
   * of the vendor's role whose user agent names the attempt's call, with its operation, key and
   * context; null if KMS has none (the request never reached it).
   */
  static TrailEvent lostAttemptRecord(
      AuditEvent a, List<TrailEvent> trail, String vendorRoleArn, Set<String> taken) {
    if (a.callId() == null) {
      return null;
    }
    for (TrailEvent t : trail) {
      if (vendorRoleArn.equals(t.roleArn())
          && !taken.contains(t.requestId())
          && t.userAgent() != null
          && t.userAgent().contains("panops-call/" + a.callId())
          && sameRequest(a, t)) {
        return t;
      }
    }
    return null;
  }

  /** Operation, key and context (for ReEncrypt, the destination's: the audit names that key). */
  static boolean sameRequest(AuditEvent a, TrailEvent t) {
    boolean re = "ReEncrypt".equals(t.eventName());
    return a.operation().equals(t.eventName())
        && a.keyArn().equals(re ? t.destinationKeyId() : t.keyId())
        && a.encryptionContext()
            .equals(re ? t.destinationEncryptionContext() : t.encryptionContext());
  }

  /** The audit event and the trail record describe the same request, by the vendor's role. */
  static boolean agrees(AuditEvent a, TrailEvent t, String vendorRoleArn) {
    return vendorRoleArn.equals(t.roleArn())
        && sameRequest(a, t)
        && a.success() == !t.failed()
        && (a.success() || Objects.equals(a.errorCode(), t.errorCode()));
  }
}
