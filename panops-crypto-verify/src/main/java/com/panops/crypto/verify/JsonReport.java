package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The report as a JSON document (schema {@code panops-crypto-verify/1}, described in the module's
 * README): the one model the text and HTML reports are drawn from.
 */
final class JsonReport {
  static final String SCHEMA = "panops-crypto-verify/1";
  static final ObjectMapper MAPPER = new ObjectMapper();

  private JsonReport() {}

  static ObjectNode of(TrailAnalysis a, Instant generatedAt, String verdict) {
    ObjectNode root = MAPPER.createObjectNode();
    root.put("schema", SCHEMA);
    root.put("generatedAt", generatedAt.toString());
    root.put("verdict", verdict);
    settings(root.putObject("settings"), a.settings);
    input(root.putObject("input"), a.stats);
    List<Cut> cuts = new ArrayList<>();
    long violations = 0;
    ArrayNode keys = root.putArray("keys");
    for (KeyTrack k : a.keys.values()) {
      List<PrincipalTrack> active =
          k.principals.values().stream().filter(PrincipalTrack::active).toList();
      if (active.isEmpty()) {
        continue;
      }
      ObjectNode key = keys.addObject();
      key.put("keyArn", k.keyArn);
      key.put("changeCount", k.changeCount);
      changes(key.putArray("changes"), k);
      ArrayNode principals = key.putArray("principals");
      for (PrincipalTrack p : active) {
        principal(principals.addObject(), p);
        cuts.addAll(p.cuts);
        violations += p.violationCount;
      }
    }
    summary(root.putObject("summary"), keys.size(), cuts, violations);
    if (a.reconciler == null) {
      root.putNull("reconciliation");
    } else {
      reconciliation(root.putObject("reconciliation"), a.reconciler);
    }
    return root;
  }

  private static void settings(ObjectNode s, TrailAnalysis.Settings settings) {
    ArrayNode v = s.putArray("vendorPrincipals");
    settings.vendors().list().forEach(v::add);
    s.put(
        "vendorRule",
        settings.vendors().named() ? "named" : "every caller from another account than the key's");
    s.put("propagationWindowSeconds", seconds(settings.propagationWindow()));
    s.put("reorderWindowSeconds", seconds(settings.reorderWindow()));
    s.put("probeUserAgent", settings.probeUserAgent());
  }

  private static void input(ObjectNode in, InputStats st) {
    in.put("files", st.files);
    in.put("bytes", st.bytes);
    in.put("records", st.records);
    in.put("kmsRecords", st.kmsRecords);
    in.put("duplicates", st.duplicates);
    in.put("otherServices", st.otherServices);
    in.put("malformed", st.malformed);
    in.put("late", st.late);
    in.put("conflicts", st.conflicts);
    in.put("undetermined", st.undetermined);
    in.put("unreadableFiles", st.unreadableFiles);
    in.put("complete", st.complete());
    ArrayNode u = in.putArray("unreadable");
    for (InputStats.Problem p : st.problems) {
      u.addObject().put("source", p.source()).put("problem", p.problem());
    }
    time(in, "firstEvent", st.firstEvent);
    time(in, "lastEvent", st.lastEvent);
  }

  private static void changes(ArrayNode out, KeyTrack k) {
    for (KeyTrack.Change c : k.changes) {
      ObjectNode n = out.addObject();
      time(n, "at", c.at());
      n.put("eventName", c.eventName());
      n.put("by", c.by());
      n.put("errorCode", c.errorCode());
      n.put("effect", c.effect());
    }
  }

  private static void principal(ObjectNode n, PrincipalTrack p) {
    n.put("principal", p.principal);
    n.putObject("calls").put("success", p.successes).put("refused", p.refusals);
    if (p.probes == 0) {
      n.putNull("probes");
    } else {
      ObjectNode pr = n.putObject("probes").put("decrypts", p.probes);
      LogHistogram h = p.probeIntervals;
      if (h.count() == 0) {
        pr.putNull("medianIntervalSeconds").putNull("maxIntervalSeconds");
      } else {
        pr.put("medianIntervalSeconds", round(h.quantile(0.5)))
            .put("maxIntervalSeconds", round(h.max()));
      }
    }
    ArrayNode cuts = n.putArray("cuts");
    p.cuts.forEach(c -> cut(cuts.addObject(), c));
    n.put("violationCount", p.violationCount);
    ArrayNode vs = n.putArray("violations");
    for (PrincipalTrack.Violation v : p.violations) {
      ObjectNode o = vs.addObject();
      time(o, "at", v.at());
      o.put("eventName", v.eventName()).put("requestId", v.requestId()).put("eventId", v.eventId());
      time(o, "cutAt", v.cutAt());
      o.put("secondsAfterCut", seconds(v.afterCut()));
      o.put("late", v.late());
    }
    ArrayNode act = n.putArray("activity");
    Activity a = p.activity;
    for (int i = 0; i < a.buckets(); i++) {
      if (a.success(i) + a.refused(i) > 0) {
        ObjectNode b = act.addObject();
        time(b, "from", a.from(i));
        b.put("seconds", a.seconds()).put("success", a.success(i)).put("refused", a.refused(i));
      }
    }
  }

  private static void cut(ObjectNode n, Cut c) {
    time(n, "at", c.at);
    n.put("by", c.by);
    time(n, "lastSuccessAfter", c.lastSuccessAfter);
    n.put("timeToDarkSeconds", seconds(c.timeToDark()));
    time(n, "firstRefused", c.firstRefused);
    n.put("firstRefusedErrorCode", c.firstRefusedErrorCode);
    Duration r = c.timeToFirstRefusal();
    if (r == null) {
      n.putNull("timeToFirstRefusalSeconds");
    } else {
      n.put("timeToFirstRefusalSeconds", seconds(r));
    }
    time(n, "restoredAt", c.restoredAt);
    n.put("restoredBy", c.restoredBy);
    time(n, "firstSuccessAfterRestore", c.firstSuccessAfterRestore);
  }

  private static void summary(ObjectNode s, int keys, List<Cut> cuts, long violations) {
    s.put("keys", keys);
    s.put("cuts", cuts.size());
    s.put("violations", violations);
    quantiles(s, "timeToDarkSeconds", cuts.stream().map(Cut::timeToDark).toList());
    quantiles(
        s,
        "timeToFirstRefusalSeconds",
        cuts.stream().map(Cut::timeToFirstRefusal).filter(d -> d != null).toList());
  }

  /** Nearest-rank quantiles of the exact values (cuts are few). */
  private static void quantiles(ObjectNode s, String name, List<Duration> values) {
    if (values.isEmpty()) {
      s.putNull(name);
      return;
    }
    List<Double> v = values.stream().map(JsonReport::seconds).sorted().toList();
    s.putObject(name)
        .put("p50", v.get(rank(0.50, v.size())))
        .put("p99", v.get(rank(0.99, v.size())))
        .put("max", v.get(v.size() - 1));
  }

  private static int rank(double q, int n) {
    return Math.max(0, (int) Math.ceil(q * n) - 1);
  }

  private static void reconciliation(ObjectNode n, Reconciler r) {
    n.put("auditEvents", r.auditEvents);
    n.put("matched", r.matched);
    n.put("mismatched", r.mismatched);
    List<Reconciler.Unmatched> auditOnly = r.auditOnly();
    unmatched(n.putArray("auditOnly"), auditOnly);
    n.put("trailOnlyCount", r.trailOnlyCount);
    unmatched(n.putArray("trailOnly"), r.trailOnly);
    n.put("reconciled", r.reconciled());
  }

  private static void unmatched(ArrayNode out, List<Reconciler.Unmatched> list) {
    for (Reconciler.Unmatched u : list) {
      out.addObject()
          .put("requestId", u.requestId())
          .put("callId", u.callId())
          .put("operation", u.operation())
          .put("keyArn", u.keyArn())
          .put("at", u.at())
          .put("reason", u.reason());
    }
  }

  private static void time(ObjectNode n, String name, Instant t) {
    if (t == null) {
      n.putNull(name);
    } else {
      n.put(name, t.toString());
    }
  }

  /** Seconds, to the millisecond (without Duration.toNanos, which overflows past 292 years). */
  static double seconds(Duration d) {
    return round(d.getSeconds() + d.getNano() / 1e9);
  }

  private static double round(double s) {
    return Math.round(s * 1000) / 1000.0;
  }
}
