package com.panops.crypto.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The reconciliation matches what a real trail carries, and each way of disagreeing fails it. */
class ReconciliationTest {
  static final String ROLE = "arn:aws:iam::999988887777:role/PanOpsServiceRole";
  static final String SESSION = "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/w-1";
  static final String OTHER_SESSION =
      "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/w-2";
  static final String ADMIN = "arn:aws:iam::111122223333:role/KeyAdmin";
  static final String KEY = "arn:aws:kms:us-east-1:111122223333:key/k";
  static final Map<String, String> CTX = Map.of("tenant", "acme");
  static final Instant T = Instant.parse("2030-01-01T00:00:00Z");

  static AuditEvent attempt(
      int n, boolean last, boolean success, String code, String id, boolean responded) {
    return new AuditEvent(
        "Decrypt",
        "data-key",
        "acme",
        KEY,
        CTX,
        success,
        code,
        id,
        Duration.ZERO,
        T,
        n,
        last,
        responded,
        "call-1");
  }

  static TrailEvent record(String session, String id, String code) {
    return new TrailEvent(
        T,
        "Decrypt",
        session,
        KEY,
        CTX,
        "SYMMETRIC_DEFAULT",
        code,
        id,
        ROLE,
        "aws-sdk-java/2 panops-call/call-1",
        null,
        Map.of());
  }

  static Reconciliation.Summary of(List<AuditEvent> audit, List<TrailEvent> trail) {
    return Reconciliation.of(audit, trail, ROLE, ADMIN, Set.of());
  }

  @Test
  void attemptsMatchByRequestIdAndLostOnesByCallId_acrossSessionsOfTheRole() {
    List<AuditEvent> audit =
        List.of(
            attempt(1, false, false, "NoResponse", null, false),
            attempt(2, false, false, "ThrottlingException", "r2", true),
            attempt(3, true, true, null, "r3", true));
    List<TrailEvent> trail =
        List.of(
            record(SESSION, "r1", null), // KMS did it; the answer was lost
            record(OTHER_SESSION, "r2", "ThrottlingException"),
            record(SESSION, "r3", null));
    Reconciliation.Summary s = of(audit, trail);
    assertTrue(s.reconciled(), s.toString());
    assertEquals(3, s.auditMatched());
    assertEquals(3, s.vendorTrailMatched());
  }

  @Test
  void aMissingAuditEventForALostResponse_leavesATrailRecordUnexplained() {
    List<AuditEvent> audit = List.of(attempt(2, true, true, null, "r3", true));
    List<TrailEvent> trail = List.of(record(SESSION, "r1", null), record(SESSION, "r3", null));
    Reconciliation.Summary s = of(audit, trail);
    assertFalse(s.reconciled());
    assertEquals(1, s.vendorTrailWithoutAudit());
  }

  @Test
  void aDisagreeingOutcome_oraRecordOfAnotherRole_fails() {
    List<AuditEvent> audit = List.of(attempt(1, true, true, null, "r1", true));
    assertFalse(of(audit, List.of(record(SESSION, "r1", "DisabledException"))).reconciled());
    TrailEvent otherRole =
        new TrailEvent(
            T,
            "Decrypt",
            "arn:aws:sts::999988887777:assumed-role/Other/w-1",
            KEY,
            CTX,
            "SYMMETRIC_DEFAULT",
            null,
            "r1",
            "arn:aws:iam::999988887777:role/Other",
            null,
            null,
            Map.of());
    assertFalse(of(audit, List.of(otherRole)).reconciled());
  }

  @Test
  void aLostAttemptThatNeverReachedKms_isAccountedForWithoutATrailRecord() {
    List<AuditEvent> audit = new ArrayList<>();
    audit.add(attempt(1, false, false, "NoResponse", null, false));
    audit.add(attempt(2, true, true, null, "r2", true));
    Reconciliation.Summary s = of(audit, List.of(record(SESSION, "r2", null)));
    assertTrue(s.reconciled(), s.toString());
    assertEquals(1, s.auditNoResponseWithoutTrail());
  }
}
