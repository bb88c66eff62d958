package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The vendor's side: the library's audit events (its JSON-lines sink, {@code AuditSink.jsonLines}:
 * one object per KMS attempt) matched one to one with the vendor's trail records. An attempt that
 * got a response matches the record with its request id, which must agree on operation, key and
 * outcome. An attempt whose response never arrived (no request id) matches at most one otherwise
 * unmatched record of its call ({@code panops-call/<callId>} in the record's user agent) with the
 * same operation and key: KMS may have done it. What is left is listed: audit events without a
 * record (a lost attempt that never reached KMS is expected; any other is not), and vendor records
 * without an audit event (a call the library did not make).
 */
final class Reconciler {
  static final int MAX_LISTED = 1_000;
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Pattern CALL_ID = Pattern.compile("panops-call/([A-Za-z0-9._~-]+)");

  /** One audit event, as much of it as the match needs. */
  record AuditLine(
      String operation,
      String keyArn,
      boolean success,
      String errorCode,
      String requestId,
      boolean responseReceived,
      String callId,
      String time,
      long seq) {}

  /** Something on one side only. */
  record Unmatched(
      String requestId, String callId, String operation, String keyArn, String at, String reason) {}

  private final Map<String, AuditLine> byRequestId = new HashMap<>();
  private final Map<String, List<AuditLine>> lostByCall = new HashMap<>();
  private final List<AuditLine> unmatchable = new ArrayList<>();
  private final Map<AuditLine, Boolean> matchedLines = new LinkedHashMap<>();
  final List<Unmatched> trailOnly = new ArrayList<>();
  int auditEvents;
  int matched;
  int mismatched;
  long trailOnlyCount;

  /** Reads the audit files (JSON lines); a line that is not an audit event is an error. */
  static Reconciler of(List<Path> files) {
    Reconciler r = new Reconciler();
    for (Path f : files) {
      try (BufferedReader in = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
        String line;
        int n = 0;
        while ((line = in.readLine()) != null) {
          n++;
          if (!line.isBlank()) {
            r.add(parse(line, f, n, r.auditEvents));
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the audit log " + f, e);
      }
    }
    return r;
  }

  private static AuditLine parse(String line, Path f, int n, long seq) {
    try {
      JsonNode j = MAPPER.readTree(line);
      String op = RecordFields.lenientText(j, "operation");
      if (op == null || !j.path("success").isBoolean()) {
        throw new IllegalArgumentException("not an audit event");
      }
      return new AuditLine(
          op,
          RecordFields.lenientText(j, "keyArn"),
          j.get("success").asBoolean(),
          RecordFields.lenientText(j, "errorCode"),
          RecordFields.lenientText(j, "requestId"),
          j.path("responseReceived").asBoolean(true),
          RecordFields.lenientText(j, "callId"),
          RecordFields.lenientText(j, "time"),
          seq);
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "the audit log " + f + " line " + n + " is not a panops-crypto audit event (JSON lines)");
    }
  }

  private void add(AuditLine a) {
    auditEvents++;
    matchedLines.put(a, false);
    if (a.requestId() != null) {
      byRequestId.put(a.requestId(), a);
    } else if (!a.responseReceived() && a.callId() != null) {
      lostByCall.computeIfAbsent(a.callId(), k -> new ArrayList<>()).add(a);
    } else {
      unmatchable.add(a);
    }
  }

  /** A vendor record of the trail, in event-time order. */
  void trail(KmsRecord r) {
    AuditLine a = r.requestId() == null ? null : byRequestId.get(r.requestId());
    if (a != null) {
      matchedLines.put(a, true);
      if (agrees(a, r)) {
        matched++;
      } else {
        mismatched++;
      }
      return;
    }
    AuditLine lost = lostAttempt(r);
    if (lost != null) {
      matchedLines.put(lost, true);
      matched++;
      return;
    }
    trailOnlyCount++;
    if (trailOnly.size() < MAX_LISTED) {
      trailOnly.add(
          new Unmatched(
              r.requestId(),
              callId(r),
              r.eventName(),
              first(r),
              r.eventTime().toString(),
              "no audit event"));
    }
  }

  private AuditLine lostAttempt(KmsRecord r) {
    String call = callId(r);
    List<AuditLine> lost = call == null ? null : lostByCall.get(call);
    if (lost == null) {
      return null;
    }
    for (AuditLine a : lost) {
      if (!matchedLines.get(a)
          && a.operation().equals(r.eventName())
          && r.keyArns().contains(a.keyArn())) {
        return a;
      }
    }
    return null;
  }

  private static boolean agrees(AuditLine a, KmsRecord r) {
    return a.operation().equals(r.eventName())
        && (a.keyArn() == null || r.keyArns().contains(a.keyArn()))
        && a.success() == !r.failed()
        && (a.success() || a.errorCode() == null || a.errorCode().equals(r.errorCode()));
  }

  /**
   * The audit events no record explains, with why (a lost attempt that never reached KMS is
   * expected).
   */
  List<Unmatched> auditOnly() {
    List<Unmatched> out = new ArrayList<>();
    matchedLines.forEach(
        (a, m) -> {
          if (!m && out.size() < MAX_LISTED) {
            out.add(
                new Unmatched(
                    a.requestId(), a.callId(), a.operation(), a.keyArn(), a.time(), reason(a)));
          }
        });
    return out;
  }

  /** Whether the attempt may rightly be missing from the trail: it never got a response. */
  static boolean expectedMissing(AuditLine a) {
    return a.requestId() == null;
  }

  private static String reason(AuditLine a) {
    return expectedMissing(a)
        ? "no response and no trail record: the request never reached KMS"
        : "no trail record with this request id";
  }

  boolean reconciled() {
    long unexplained =
        matchedLines.entrySet().stream()
            .filter(e -> !e.getValue() && !expectedMissing(e.getKey()))
            .count();
    return mismatched == 0 && trailOnlyCount == 0 && unexplained == 0;
  }

  private static String callId(KmsRecord r) {
    if (r.userAgent() == null) {
      return null;
    }
    Matcher m = CALL_ID.matcher(r.userAgent());
    return m.find() ? m.group(1) : null;
  }

  private static String first(KmsRecord r) {
    return r.keyArns().isEmpty() ? null : r.keyArns().get(0);
  }
}
