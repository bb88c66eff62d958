package com.panops.crypto.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.testkit.TrailEvent;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The walkthrough's expectations: each is printed as it is checked; failures are collected. The
 * static functions decide each check from what the walkthrough observed (a trail, a policy, the
 * outcome of a connection attempt, durations and their limits), so that {@code ChecksTest} can feed
 * each of them a broken input and see it fail.
 */
final class Checks {
  /** The five operations the seed's key policy gives the vendor role. */
  static final List<String> POLICY_ACTIONS =
      List.of(
          "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey", "kms:DescribeKey");

  /** The same five as CloudTrail names them ({@code ReEncrypt*} covers ReEncrypt). */
  static final Set<String> PERMITTED =
      Set.of("Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "DescribeKey");

  static final String PROBE_PURPOSE = "liveness-probe";

  /** A check's outcome and what was measured for it (printed in parentheses). */
  record Verdict(boolean ok, String measured) {}

  private final Console con;
  private final List<String> failed = new ArrayList<>();
  private int held;

  Checks(Console con) {
    this.con = con;
  }

  /** Records and prints one expectation; returns {@code ok}. */
  synchronized boolean expect(String what, boolean ok) {
    return expect(what, ok, null);
  }

  /** Records and prints one expectation decided by a check function. */
  synchronized boolean expect(String what, Verdict v) {
    return expect(what, v.ok(), v.measured());
  }

  /** As {@link #expect(String, boolean)}, with what was measured. */
  synchronized boolean expect(String what, boolean ok, String measured) {
    String suffix = measured == null ? "" : " (" + measured + ")";
    if (ok) {
      held++;
      con.line("[ok]     " + what + suffix);
    } else {
      failed.add(what + suffix);
      con.line("[FAILED] " + what + suffix);
    }
    return ok;
  }

  synchronized int held() {
    return held;
  }

  synchronized List<String> failed() {
    return List.copyOf(failed);
  }

  /** Throws if any expectation failed, naming them. */
  synchronized void requireAllHeld() throws DemoFailedException {
    if (!failed.isEmpty()) {
      throw new DemoFailedException(failed);
    }
  }

  // ------------------------------------------------------------------ 1. the key and its policy

  /**
   * The key policy (as GetKeyPolicy returns it) gives the vendor's role exactly the five
   * cryptographic operations, in one unconditional Allow statement, and nothing else.
   */
  static Verdict vendorPolicyFiveOnly(String policyJson, String vendorRoleArn) {
    JsonNode policy;
    try {
      policy = new ObjectMapper().readTree(policyJson);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> actions = new ArrayList<>();
    int statements = 0;
    boolean other = false;
    for (JsonNode st : policy.path("Statement")) {
      if (!vendorRoleArn.equals(principalOf(st))) {
        continue;
      }
      statements++;
      if (!"Allow".equals(st.path("Effect").asText()) || st.has("Condition")) {
        other = true;
      }
      JsonNode a = st.path("Action");
      if (a.isArray()) {
        a.forEach(x -> actions.add(x.asText()));
      } else {
        actions.add(a.asText());
      }
    }
    return new Verdict(
        statements == 1 && !other && actions.equals(POLICY_ACTIONS), actions.toString());
  }

  static String principalOf(JsonNode st) {
    return st.path("Principal").path("AWS").asText();
  }

  /** Each of the {@code expected} vendor calls was refused with AccessDeniedException. */
  static Verdict allRefused(Map<String, String> tried, Collection<String> expected) {
    boolean ok =
        tried.keySet().containsAll(expected)
            && tried.size() == expected.size()
            && tried.values().stream().allMatch("AccessDeniedException"::equals);
    return new Verdict(ok, tried.toString());
  }

  // ------------------------------------------------------------------ 2. TLS to PostgreSQL

  /** pg_stat_ssl of the worker's own session says TLS, with a cipher. */
  static Verdict tlsSession(boolean ssl, String version, String cipher) {
    return new Verdict(ssl && version != null && cipher != null, version + " " + cipher);
  }

  /**
   * A session that trusts another root CA was refused in the TLS handshake (not by authentication,
   * not for any other reason).
   */
  static Verdict wrongCaRefused(DemoTls.Attempt a) {
    return new Verdict(!a.connected() && a.handshakeFailed(), a.toString());
  }

  /**
   * A verify-full session to an address the server's certificate does not name was refused, and the
   * same session without the name check (verify-ca: chain verified, name not) connects: the refusal
   * is the host-name check's.
   */
  static Verdict wrongHostRefused(DemoTls.Attempt verifyFull, DemoTls.Attempt nameUnchecked) {
    boolean ok =
        !verifyFull.connected()
            && verifyFull.sqlState() != null
            && verifyFull.sqlState().startsWith("08")
            && nameUnchecked.connected();
    return new Verdict(ok, verifyFull + "; without the name check: " + nameUnchecked);
  }

  /** TlsEnforcingDataSource refused a mode without certificate checks before connecting. */
  static Verdict insecureModeRefused(String sqlState) {
    return new Verdict(
        com.panops.crypto.jdbc.SqlStates.INSECURE_TRANSPORT.equals(sqlState),
        "SQLState " + sqlState);
  }

  // ------------------------------------------------------------------ 2. ingest and at rest

  /** KMS was called per cached data key (a handful of calls), not per value. */
  static Verdict kmsPerDataKey(long dataCalls, long values, long atMost) {
    return new Verdict(
        values > 0 && dataCalls <= atMost,
        dataCalls + " data-key calls for " + Console.count(values) + " encrypted values");
  }

  /** Where {@code needle} occurs in {@code hay}, or -1. */
  static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** Every expected row was searched and no stored value contains its plaintext. */
  static Verdict noPlaintext(int rows, int expectedRows, int values, int leaks) {
    return new Verdict(
        rows == expectedRows && values > 0 && leaks == 0,
        values + " values searched, " + leaks + " with plaintext");
  }

  /** The largest overhead a compact value may have. */
  static final int COMPACT_OVERHEAD_LIMIT = 40;

  /**
   * Every compact value's overhead (stored length minus plaintext) is at most {@value
   * #COMPACT_OVERHEAD_LIMIT} bytes, and the version-1 values measured beside them cost more.
   */
  static Verdict compactOverhead(long compactValues, int compactMax, int v1Values, long v1Total) {
    double v1 = v1Values == 0 ? 0 : (double) v1Total / v1Values;
    return new Verdict(
        compactValues > 0
            && compactMax <= COMPACT_OVERHEAD_LIMIT
            && v1Values > 0
            && v1 > compactMax,
        String.format(
            "at most %d bytes per compact value, %.0f per version-1 value", compactMax, v1));
  }

  /** Objects read with a plain S3 client are panops messages without the attachment's bytes. */
  static Verdict objectsSealed(int objects, int leaks, int marked) {
    return new Verdict(
        objects > 0 && leaks == 0 && marked == objects,
        objects + " objects read with a plain S3 client, " + leaks + " with plaintext");
  }

  /** Everything read back identical. */
  static Verdict readBack(int ok, int bad, int expected, int aOk, int aBad, int aExpected) {
    return new Verdict(
        ok == expected && bad == 0 && aOk == aExpected && aBad == 0,
        ok + "/" + expected + " messages, " + aOk + "/" + aExpected + " attachments");
  }

  /** The blind-index lookup found exactly the expected rows, all of that sender. */
  static Verdict lookup(Set<String> found, Set<String> expected, boolean sendersMatch) {
    return new Verdict(
        !expected.isEmpty() && found.equals(expected) && sendersMatch,
        found.size() + " found, " + expected.size() + " expected");
  }

  // ------------------------------------------------------------------ 4. the kill switch

  /** A REVOKED event with the expected reason within the limit. */
  static Verdict latchedWithin(
      Duration t, RevocationReason got, RevocationReason expected, Duration limit) {
    return new Verdict(
        t != null && t.compareTo(limit) <= 0 && got == expected,
        fmt(t) + ", " + (got == null ? "no event" : got) + ", limit " + Console.ms(limit));
  }

  /** A refusal (DB read, S3 GET, a fleet worker's decrypt) with the expected reason in time. */
  static Verdict refusedWithin(
      Duration t, RevocationReason got, RevocationReason expected, Duration limit) {
    return new Verdict(
        t != null && t.compareTo(limit) <= 0 && got == expected,
        fmt(t) + ", limit " + Console.ms(limit));
  }

  /** Every worker of the fleet refused within the limit. */
  static Verdict everyWorkerRefused(Map<String, Duration> byWorker, int workers, Duration limit) {
    boolean ok = byWorker.size() == workers;
    for (Duration d : byWorker.values()) {
      ok &= d != null && d.compareTo(limit) <= 0;
    }
    Map<String, String> shown = new TreeMap<>();
    byWorker.forEach((w, d) -> shown.put(w, fmt(d)));
    return new Verdict(ok, shown + ", limit " + Console.ms(limit));
  }

  /**
   * Served again no sooner than the settle time (the RESTORED event) and within the limit (the
   * first served read).
   */
  static Verdict restored(
      Duration served, Duration restoredEvent, Duration settle, Duration limit) {
    boolean ok =
        served != null
            && served.compareTo(limit) <= 0
            && restoredEvent != null
            && restoredEvent.compareTo(settle) >= 0
            && served.compareTo(settle) >= 0;
    return new Verdict(
        ok,
        "served after "
            + fmt(served)
            + ", RESTORED after "
            + fmt(restoredEvent)
            + "; settle "
            + Console.ms(settle)
            + ", limit "
            + Console.ms(limit));
  }

  /** While latched KMS saw probes only, all refused, and at least one. */
  static Verdict onlyRefusedProbes(long data, long probes, long probesRefused) {
    return new Verdict(
        data == 0 && probes >= 1 && probesRefused == probes,
        data + " data calls, " + probes + " probes, " + probesRefused + " refused");
  }

  /** A vendor call the customer's policy forbids was refused. */
  static Verdict refusedAs(String code, String expected, String what) {
    return new Verdict(expected.equals(code), what + " -> " + code);
  }

  // ------------------------------------------------------------------ 5. the customer's trail

  /** Every audit event matches its CloudTrail record. */
  static Verdict auditMatchesTrail(Reconciliation.Summary r) {
    return new Verdict(
        r.auditEvents() > 0
            && r.auditMatched() + r.auditNoResponseWithoutTrail() == r.auditEvents(),
        r.auditMatched() + " of " + r.auditEvents());
  }

  /** Every CloudTrail record of the vendor role has its audit event. */
  static Verdict trailHasAudit(Reconciliation.Summary r) {
    return new Verdict(
        r.vendorTrailRecords() > 0
            && r.vendorTrailWithoutAudit() == 0
            && r.otherPrincipalRecords() == 0,
        r.vendorTrailMatched() + " matched, " + r.demoDirectCalls() + " demo-made");
  }

  /** The vendor role's trail records (other than the demo's own calls) name only the five. */
  static Verdict onlyPermittedOperations(
      List<TrailEvent> trail, String vendorRoleArn, Set<String> demoDirect) {
    List<String> ops =
        trail.stream()
            .filter(t -> vendorRoleArn.equals(t.roleArn()))
            .filter(t -> !demoDirect.contains(t.requestId()))
            .map(TrailEvent::eventName)
            .distinct()
            .sorted()
            .toList();
    return new Verdict(!ops.isEmpty() && PERMITTED.containsAll(ops), ops.toString());
  }

  /** The customer's KeyAdmin has records, and none of them is a call of the library. */
  static Verdict adminRecordsNotLibrary(
      List<TrailEvent> trail, String adminRoleArn, Set<String> libraryRequestIds) {
    long admin = trail.stream().filter(t -> adminRoleArn.equals(t.roleArn())).count();
    long ofLibrary =
        trail.stream()
            .filter(t -> adminRoleArn.equals(t.roleArn()))
            .filter(t -> libraryRequestIds.contains(t.requestId()))
            .count();
    return new Verdict(
        admin > 0 && ofLibrary == 0, ofLibrary + " of " + admin + " KeyAdmin records");
  }

  static boolean isProbe(TrailEvent t) {
    return PROBE_PURPOSE.equals(t.encryptionContext().get("panops:purpose"));
  }

  /**
   * A window in which the library had the key latched, as the customer's trail shows it: from the
   * first refused probe of the key to the next successful probe of it ({@code to} null: still open
   * at the end of the trail).
   */
  record Window(String keyArn, Instant from, Instant to) {
    boolean contains(Instant t) {
      return !t.isBefore(from) && (to == null || !t.isAfter(to));
    }
  }

  /**
   * The latched windows of every key, from the vendor role's probe records alone: a window opens at
   * a refused probe call (the canary's Decrypt, or the Encrypt that makes a new canary after a
   * purge) and closes at the next successful probe Decrypt.
   */
  static List<Window> latchedWindows(List<TrailEvent> trail, String vendorRoleArn) {
    Map<String, Instant> open = new HashMap<>();
    List<Window> out = new ArrayList<>();
    for (TrailEvent t : trail) {
      if (!vendorRoleArn.equals(t.roleArn()) || !isProbe(t) || t.keyId() == null) {
        continue;
      }
      Instant from = open.get(t.keyId());
      if (t.failed() && from == null) {
        open.put(t.keyId(), t.eventTime());
      } else if (!t.failed() && from != null && "Decrypt".equals(t.eventName())) {
        out.add(new Window(t.keyId(), from, t.eventTime()));
        open.remove(t.keyId());
      }
    }
    open.forEach((k, from) -> out.add(new Window(k, from, null)));
    return out;
  }

  /**
   * No vendor KMS call other than a probe (and the demo's own calls) for a key inside one of its
   * latched windows, and each key had exactly the expected number of windows.
   */
  static Verdict noDataCallsWhileLatched(
      List<TrailEvent> trail,
      String vendorRoleArn,
      Set<String> demoDirect,
      Map<String, Integer> expectedWindows) {
    List<Window> windows = latchedWindows(trail, vendorRoleArn);
    Map<String, Integer> perKey = new HashMap<>();
    windows.forEach(w -> perKey.merge(w.keyArn(), 1, Integer::sum));
    long n = dataCallsInWindows(trail, vendorRoleArn, demoDirect, windows);
    boolean closed = windows.stream().allMatch(w -> w.to() != null);
    boolean ok = n == 0 && closed && perKey.equals(expectedWindows);
    return new Verdict(
        ok,
        n
            + " calls in "
            + windows.size()
            + " windows (first refused probe -> first successful probe), "
            + perKey.values().stream().sorted().toList()
            + " per key, expected "
            + expectedWindows.values().stream().sorted().toList());
  }

  /** Vendor calls other than probes (and the demo's own) for a key inside one of its windows. */
  static long dataCallsInWindows(
      List<TrailEvent> trail, String vendorRoleArn, Set<String> demoDirect, List<Window> windows) {
    long n = 0;
    for (TrailEvent t : trail) {
      if (!vendorRoleArn.equals(t.roleArn()) || isProbe(t) || demoDirect.contains(t.requestId())) {
        continue;
      }
      for (Window w : windows) {
        boolean key = w.keyArn().equals(t.keyId()) || w.keyArn().equals(t.destinationKeyId());
        if (key && w.contains(t.eventTime())) {
          n++;
          break;
        }
      }
    }
    return n;
  }

  // ------------------------------------------------------------------ fleet

  /** Probe Decrypts of {@code keys} in the trail within [from, to). */
  static long probeDecrypts(List<TrailEvent> trail, Set<String> keys, Instant from, Instant to) {
    return trail.stream()
        .filter(t -> "Decrypt".equals(t.eventName()) && isProbe(t))
        .filter(t -> keys.contains(t.keyId()))
        .filter(t -> !t.eventTime().isBefore(from) && t.eventTime().isBefore(to))
        .count();
  }

  /**
   * Coordinated, the fleet probes each key about once per interval: at most 1.1 × K × N over N
   * intervals (and every key still at least N - 1 times), where standalone it is W × K × N.
   */
  static Verdict fleetProbes(long counted, int keys, int intervals, int workers) {
    long bound = (long) Math.floor(1.1 * keys * intervals);
    boolean ok = counted <= bound && counted >= (long) keys * (intervals - 1);
    return new Verdict(
        ok,
        counted
            + " probe Decrypts for K="
            + keys
            + " keys over N="
            + intervals
            + " intervals; bound 1.1 x K x N = "
            + bound
            + "; standalone W x K x N = "
            + (long) workers * keys * intervals);
  }

  static String fmt(Duration d) {
    return d == null ? "never" : Console.ms(d);
  }
}
