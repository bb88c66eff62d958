package com.panops.crypto.demo;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.testkit.TrailEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The library's audit events next to the customer's CloudTrail (LocalKms's trail), matched one to
 * one by KMS request id: every audit event must have the trail record with its request id, and that
 * record must agree on operation, key, encryption context and outcome; every trail record of the
 * vendor's principal must have its audit event (except calls the demo made itself, outside the
 * library, which it names). The customer administrator's own actions appear only in the trail.
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
      int vendorTrailRecords,
      int vendorTrailMatched,
      int vendorTrailWithoutAudit,
      int demoDirectCalls,
      int otherPrincipalRecords,
      Map<String, Integer> adminActions,
      List<Row> rows) {

    /** Every audit event matched, and every vendor trail record is accounted for. */
    boolean reconciled() {
      return auditEvents > 0
          && auditMatched == auditEvents
          && vendorTrailWithoutAudit == 0
          && otherPrincipalRecords == 0;
    }
  }

  private Reconciliation() {}

  static Summary of(
      List<AuditEvent> audit,
      List<TrailEvent> trail,
      String vendorArn,
      String adminArn,
      Set<String> demoDirectRequestIds) {
    Map<String, TrailEvent> trailById = new HashMap<>();
    for (TrailEvent t : trail) {
      if (t.requestId() != null) {
        trailById.put(t.requestId(), t);
      }
    }
    Map<String, AuditEvent> auditById = new HashMap<>();
    Map<String, int[]> groups = new TreeMap<>();
    int matched = 0;
    int mismatched = 0;
    int withoutTrail = 0;
    for (AuditEvent a : audit) {
      if (a.requestId() != null) {
        auditById.put(a.requestId(), a);
      }
      String outcome = a.success() ? "success" : Objects.toString(a.errorCode(), "failure");
      int[] g =
          groups.computeIfAbsent(
              a.operation() + "\u0000" + a.purpose() + "\u0000" + outcome, k -> new int[3]);
      g[0]++;
      TrailEvent t = a.requestId() == null ? null : trailById.get(a.requestId());
      if (t == null) {
        withoutTrail++;
        continue;
      }
      g[1]++;
      if (agrees(a, t, vendorArn)) {
        matched++;
        g[2]++;
      } else {
        mismatched++;
      }
    }
    int vendorRecords = 0;
    int vendorMatched = 0;
    int vendorWithout = 0;
    int direct = 0;
    int other = 0;
    Map<String, Integer> admin = new TreeMap<>();
    for (TrailEvent t : trail) {
      if (adminArn.equals(t.userArn())) {
        admin.merge(t.eventName(), 1, Integer::sum);
      } else if (vendorArn.equals(t.userArn())) {
        vendorRecords++;
        if (demoDirectRequestIds.contains(t.requestId())) {
          direct++;
        } else if (auditById.containsKey(t.requestId())) {
          vendorMatched++;
        } else {
          vendorWithout++;
        }
      } else {
        other++;
      }
    }
    List<Row> rows = new ArrayList<>();
    for (Map.Entry<String, int[]> e : groups.entrySet()) {
      String[] k = e.getKey().split("\u0000", -1);
      int[] g = e.getValue();
      rows.add(new Row(k[0], k[1], k[2], g[0], g[1], g[2]));
    }
    return new Summary(
        audit.size(),
        matched,
        mismatched,
        withoutTrail,
        vendorRecords,
        vendorMatched,
        vendorWithout,
        direct,
        other,
        admin,
        rows);
  }

  /** The audit event and the trail record describe the same call. */
  static boolean agrees(AuditEvent a, TrailEvent t, String vendorArn) {
    return vendorArn.equals(t.userArn())
        && a.operation().equals(t.eventName())
        && a.keyArn().equals(t.keyId())
        && a.encryptionContext().equals(t.encryptionContext())
        && a.success() == !t.failed()
        && (a.success() || Objects.equals(a.errorCode(), t.errorCode()));
  }
}
