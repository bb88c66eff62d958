package com.panops.crypto.demo;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Step 6: what the customer's CloudTrail (LocalKms's trail) recorded next to the library's audit
 * events, matched one to one ({@link Reconciliation}); that the vendor role called only the five
 * permitted operations and no KeyAdmin record is a library call; and the trail's latched windows,
 * none of which may hold a data-key call of the vendor.
 */
final class TrailReport {
  private static final String RULE = "   " + "-".repeat(85);

  /**
   * What the trail showed.
   *
   * @param reconciliation the audit events matched with the trail
   * @param dataCallsWhileLatched vendor calls other than probes inside the latched windows
   * @param latchedWindows those windows, over all keys
   */
  record Result(
      Reconciliation.Summary reconciliation, long dataCallsWhileLatched, int latchedWindows) {}

  private final DemoRun run;
  private final Console con;
  private final List<TrailEvent> trail;
  private final List<AuditEvent> audit;

  private TrailReport(DemoRun run) {
    this.run = run;
    this.con = run.con;
    this.trail = run.kms.trail();
    this.audit = List.copyOf(run.audit);
  }

  /** Runs step 6, once the library's workers are closed (so the trail and the audit are final). */
  static Result run(DemoRun run) {
    run.con.step(6, "What the customer's CloudTrail saw, next to the library's audit events");
    TrailReport report = new TrailReport(run);
    Reconciliation.Summary r = report.reconcile();
    return report.latchedWindows(r);
  }

  private Reconciliation.Summary reconcile() {
    Reconciliation.Summary r =
        Reconciliation.of(
            audit,
            trail,
            run.kms.vendor().roleArn(),
            run.kms.admin().roleArn(),
            run.demoDirectRequestIds);
    printSample();
    con.blank();
    printTable(r);
    con.blank();
    printCounts(r);
    checkCallers(r);
    run.summaryLine(
        "audit events vs CloudTrail",
        r.auditMatched()
            + " of "
            + r.auditEvents()
            + " matched; "
            + r.vendorTrailWithoutAudit()
            + " vendor records unexplained");
    return r;
  }

  /** One refused probe, as each side recorded it. */
  private void printSample() {
    con.line("One refused probe, as each side recorded it (matched by KMS request id):");
    AuditEvent sample =
        audit.stream()
            .filter(a -> !a.success() && "probe".equals(a.purpose()))
            .findFirst()
            .orElse(audit.get(0));
    TrailEvent sampleTrail =
        trail.stream()
            .filter(t -> sample.requestId() != null && sample.requestId().equals(t.requestId()))
            .findFirst()
            .orElse(null);
    if (sampleTrail != null) {
      con.kv(
          "  CloudTrail eventTime / eventName",
          sampleTrail.eventTime() + " / " + sampleTrail.eventName());
      con.kv("  userIdentity.arn", sampleTrail.userArn());
      con.kv("  sessionContext.sessionIssuer.arn", String.valueOf(sampleTrail.sessionIssuerArn()));
      con.kv("  encryptionContext", sampleTrail.encryptionContext().toString());
      con.kv("  errorCode / requestID", sampleTrail.errorCode() + " / " + sampleTrail.requestId());
    }
    con.kv(
        "  library AuditEvent",
        sample.operation()
            + " purpose="
            + sample.purpose()
            + " tenant="
            + sample.tenantId()
            + " outcome="
            + (sample.success() ? "success" : sample.errorCode())
            + " latency="
            + Console.ms(sample.latency()));
    con.kv("  requestId", String.valueOf(sample.requestId()));
  }

  private void printTable(Reconciliation.Summary r) {
    con.raw(
        String.format(
            Locale.ROOT,
            "   %-16s %-10s %-26s %9s %11s %8s",
            "operation",
            "purpose",
            "outcome",
            "library",
            "CloudTrail",
            "agree"));
    con.raw(RULE);
    for (Reconciliation.Row row : r.rows()) {
      con.raw(
          String.format(
              Locale.ROOT,
              "   %-16s %-10s %-26s %9d %11d %8d",
              row.operation(),
              row.purpose(),
              row.outcome(),
              row.library(),
              row.trail(),
              row.matched()));
    }
    con.raw(RULE);
    con.raw(
        String.format(
            Locale.ROOT,
            "   %-54s %9d %11d %8d",
            "total",
            r.auditEvents(),
            r.vendorTrailMatched(),
            r.auditMatched()));
  }

  private void printCounts(Reconciliation.Summary r) {
    con.kv(
        "CloudTrail records of the vendor role",
        r.vendorTrailRecords()
            + ": "
            + r.vendorTrailMatched()
            + " match an audit event, "
            + r.vendorTrailWithoutAudit()
            + " do not, "
            + r.demoDirectCalls()
            + " made by this demo outside the library (the refused key actions)");
    con.kv(
        "the library's audit events",
        r.auditEvents()
            + ": "
            + r.auditMatched()
            + " match their CloudTrail record (request id, operation, key, context, outcome)");
    StringBuilder admin = new StringBuilder();
    r.adminActions()
        .forEach(
            (op, n) ->
                admin.append(admin.length() == 0 ? "" : ", ").append(op).append(' ').append(n));
    con.kv("the customer's KeyAdmin (CloudTrail only)", admin.toString());
  }

  private void checkCallers(Reconciliation.Summary r) {
    run.checks.expect(
        "every audit event matches the CloudTrail record with its request id",
        Checks.auditMatchesTrail(r));
    run.checks.expect(
        "every CloudTrail record of the vendor role has its audit event", Checks.trailHasAudit(r));
    run.checks.expect(
        "the customer's CloudTrail shows the library calling only the five permitted operations",
        Checks.onlyPermittedOperations(
            trail, run.kms.vendor().roleArn(), run.demoDirectRequestIds));
    // the library's calls are the vendor role's: none of the customer admin's records is one
    Set<String> libraryIds = new HashSet<>();
    audit.forEach(a -> libraryIds.add(a.requestId()));
    run.checks.expect(
        "no CloudTrail record of the customer's KeyAdmin role is a call of the library",
        Checks.adminRecordsNotLibrary(trail, run.kms.admin().roleArn(), libraryIds));
  }

  /**
   * Vendor KMS calls other than probes inside the windows in which a key was latched, the windows
   * taken from the customer's trail: from a key's first refused probe to its next successful probe.
   */
  private Result latchedWindows(Reconciliation.Summary r) {
    List<TrailEvent> all = run.kms.trail();
    String role = run.kms.vendor().roleArn();
    List<Checks.Window> windows = Checks.latchedWindows(all, role);
    con.blank();
    con.line(
        "Latched windows in the customer's CloudTrail (first refused probe -> first successful");
    con.line("probe, per key), and every vendor record inside them:");
    for (Checks.Window w : windows) {
      long inside =
          all.stream()
              .filter(t -> role.equals(t.roleArn()) && w.keyArn().equals(t.keyId()))
              .filter(t -> w.contains(t.eventTime()))
              .count();
      con.kv(
          "  " + run.keyNames.getOrDefault(w.keyArn(), w.keyArn()),
          w.from()
              + " -> "
              + w.to()
              + " ("
              + (w.to() == null ? "open" : Console.ms(Duration.between(w.from(), w.to())))
              + ", "
              + inside
              + " records)");
    }
    Set<String> direct = run.demoDirectRequestIds;
    Checks.Verdict v = Checks.noDataCallsWhileLatched(all, role, direct, run.expectedWindows);
    run.checks.expect("over the whole run, no data-key KMS call while a key was latched", v);
    long n = Checks.dataCallsInWindows(all, role, direct, windows);
    run.summaryLine("data-key KMS calls while latched (trail windows)", v.measured());
    return new Result(r, n, windows.size());
  }
}
