package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.time.Instant;

/**
 * A report of schema panops-crypto-verify/1 written by hand (the HTML report's tests run ahead of
 * the analysis): two keys; the first, whose ARN and vendor principal are hostile strings, has two
 * cuts, one restore and one violation; the second one cut, restored, and no violation.
 */
final class SampleReport {
  /** What a hostile trail puts in a key ARN: it tries to end the script element and add markup. */
  static final String HOSTILE_ARN =
      "arn:aws:kms:us-east-1:111122223333:key/\"'</script><img src=x onerror=alert(1)>";

  /** A hostile vendor principal: a script element, quotes and an entity. */
  static final String HOSTILE_PRINCIPAL =
      "arn:aws:iam::999988887777:role/Pan\"Ops'</script><script>document.title='pwned'</script>&amp;";

  static final String PLAIN_ARN =
      "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  static final String VENDOR = "arn:aws:iam::999988887777:role/PanOpsServiceRole";
  static final String VIOLATION_REQUEST_ID = "7f0e6f1c-violation-request";
  static final Instant T0 = Instant.parse("2026-12-08T01:00:00Z");

  private static final ObjectMapper JSON = new ObjectMapper();

  private SampleReport() {}

  static JsonNode report() {
    ObjectNode report =
        (ObjectNode) parse(SKELETON.formatted(quote(HOSTILE_ARN), quote(PLAIN_ARN)));
    ArrayNode keys = (ArrayNode) report.get("keys");
    keys.add(hostileKey());
    keys.add(plainKey());
    return report;
  }

  /**
   * A report with nothing to show but calls: one key never cut, a principal seen without probes, no
   * percentiles, no reconciliation.
   */
  static JsonNode quiet() {
    ObjectNode report = (ObjectNode) parse(QUIET);
    ObjectNode key = report.putArray("keys").addObject().put("keyArn", PLAIN_ARN);
    key.putArray("changes");
    ObjectNode vendor = principal(VENDOR, 120, 0);
    vendor.putNull("probes");
    vendor.putArray("cuts");
    vendor.putArray("violations");
    vendor.set("activity", activity(new long[0][], -1));
    key.putArray("principals").add(vendor);
    return report;
  }

  /**
   * Cut at +60 s, restored at +180 s, cut again at +300 s and never restored; a Decrypt at +375 s.
   */
  private static JsonNode hostileKey() {
    ObjectNode key = object("keyArn", HOSTILE_ARN);
    ArrayNode changes = key.putArray("changes");
    changes.add(change(60, "DisableKey", "cut"));
    changes.add(change(180, "EnableKey", "restore"));
    changes.add(change(300, "DisableKey", "cut"));
    ObjectNode vendor = principal(HOSTILE_PRINCIPAL, 100, 14);
    ArrayNode cuts = vendor.putArray("cuts");
    cuts.add(cut(60, 60.4, 61.2, 180L, 181.0));
    cuts.add(cut(300, 300.3, 301.1, null, null));
    ObjectNode violation = vendor.putArray("violations").addObject();
    violation.put("at", at(375)).put("eventName", "Decrypt");
    violation.put("requestId", VIOLATION_REQUEST_ID).put("eventId", "e-1\"<b>bold</b>");
    violation.put("cutAt", at(300)).put("secondsAfterCut", 75.0);
    vendor.set("activity", activity(new long[][] {{60, 180}, {300, 400}}, 375));
    key.putArray("principals").add(vendor);
    return key;
  }

  /** Cut at +120 s, restored at +240 s; a PutKeyPolicy that changed nothing for the vendor. */
  private static JsonNode plainKey() {
    ObjectNode key = object("keyArn", PLAIN_ARN);
    ArrayNode changes = key.putArray("changes");
    changes.add(change(30, "PutKeyPolicy", "none"));
    changes.add(change(120, "DisableKey", "cut"));
    changes.add(change(240, "EnableKey", "restore"));
    ObjectNode vendor = principal(VENDOR, 120, 6);
    vendor.putArray("cuts").add(cut(120, 120.2, 121.0, 240L, 240.5));
    vendor.putArray("violations");
    vendor.set("activity", activity(new long[][] {{120, 240}}, -1));
    key.putArray("principals").add(vendor);
    return key;
  }

  private static ObjectNode principal(String arn, int success, int refused) {
    ObjectNode p = object("principal", arn);
    p.putObject("calls").put("success", success).put("refused", refused);
    p.putObject("probes")
        .put("decrypts", 40)
        .put("medianIntervalSeconds", 10.0)
        .put("maxIntervalSeconds", 12.5);
    return p;
  }

  private static ObjectNode change(long second, String eventName, String effect) {
    ObjectNode c = object("at", at(second));
    c.put("eventName", eventName).put("by", "arn:aws:iam::111122223333:role/Admin");
    c.putNull("errorCode");
    return c.put("effect", effect);
  }

  private static ObjectNode cut(
      long at, double lastSuccess, double refused, Long restored, Double successAfter) {
    ObjectNode c = object("at", at(at)).put("by", "DisableKey");
    c.put("lastSuccessAfter", at(lastSuccess)).put("timeToDarkSeconds", lastSuccess - at);
    c.put("firstRefused", at(refused)).put("firstRefusedErrorCode", "DisabledException");
    c.put("timeToFirstRefusalSeconds", refused - at);
    c.put("restoredAt", restored == null ? null : at(restored));
    c.put("restoredBy", restored == null ? null : "EnableKey");
    return c.put("firstSuccessAfterRestore", successAfter == null ? null : at(successAfter));
  }

  /** 10-second buckets over 0..400 s: successes outside the dark periods, refusals inside. */
  private static ArrayNode activity(long[][] dark, long violationSecond) {
    ArrayNode buckets = JSON.createArrayNode();
    for (long s = 0; s < 400; s += 10) {
      boolean isDark = false;
      for (long[] d : dark) {
        isDark |= s >= d[0] && s < d[1];
      }
      boolean violated = violationSecond >= s && violationSecond < s + 10;
      ObjectNode b = buckets.addObject().put("from", at(s)).put("seconds", 10.0);
      b.put("success", isDark ? (violated ? 1 : 0) : 3).put("refused", isDark ? 2 : 0);
    }
    return buckets;
  }

  private static ObjectNode object(String field, String value) {
    return JSON.createObjectNode().put(field, value);
  }

  private static String at(double second) {
    return T0.plusMillis(Math.round(second * 1000)).toString();
  }

  private static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (java.io.IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JsonNode parse(String json) {
    try {
      return JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final String QUIET =
      """
      {
        "schema": "panops-crypto-verify/1",
        "generatedAt": "2026-12-08T02:00:00Z",
        "verdict": "NO_CUTS",
        "settings": {
          "vendorPrincipals": ["arn:aws:iam::999988887777:role/PanOpsServiceRole"],
          "propagationWindowSeconds": 60,
          "probeUserAgent": "panops-purpose/probe"
        },
        "input": {
          "files": 1, "records": 120, "kmsRecords": 120, "duplicates": 0, "otherServices": 0,
          "unreadable": [], "firstEvent": "2026-12-08T01:00:00Z", "lastEvent": "2026-12-08T01:06:40Z"
        },
        "summary": {
          "keys": 1, "cuts": 0, "violations": 0,
          "timeToDarkSeconds": null, "timeToFirstRefusalSeconds": null
        },
        "reconciliation": null
      }
      """;

  private static final String SKELETON =
      """
      {
        "schema": "panops-crypto-verify/1",
        "generatedAt": "2026-12-08T02:00:00Z",
        "verdict": "VIOLATION",
        "settings": {
          "vendorPrincipals": ["arn:aws:iam::999988887777:role/PanOpsServiceRole"],
          "propagationWindowSeconds": 60,
          "probeUserAgent": "panops-purpose/probe"
        },
        "input": {
          "files": 12, "records": 4000, "kmsRecords": 3900, "duplicates": 3, "otherServices": 100,
          "unreadable": [
            {"source": "AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/08/x.json.gz",
             "problem": "truncated gzip after 1234 bytes"}
          ],
          "firstEvent": "2026-12-08T01:00:00Z", "lastEvent": "2026-12-08T01:06:40Z"
        },
        "summary": {
          "keys": 2, "cuts": 3, "violations": 1,
          "timeToDarkSeconds": {"p50": 0.3, "p99": 0.4, "max": 0.4},
          "timeToFirstRefusalSeconds": {"p50": 1.0, "p99": 1.2, "max": 1.2}
        },
        "keys": [],
        "reconciliation": {
          "auditEvents": 130, "matched": 128, "mismatched": 0,
          "auditOnly": [
            {"requestId": null, "callId": "c-17", "operation": "Decrypt", "keyArn": %1$s,
             "reason": "no response, never reached KMS"}
          ],
          "trailOnly": [
            {"requestId": "r-99", "eventName": "Decrypt", "keyArn": %2$s,
             "at": "2026-12-08T01:03:00Z", "reason": "no audit event"}
          ],
          "reconciled": false
        }
      }
      """;
}
