package com.panops.crypto.verify;

import static com.panops.crypto.verify.Trails.ADMIN_ROLE;
import static com.panops.crypto.verify.Trails.KEY;
import static com.panops.crypto.verify.Trails.KEY_2;
import static com.panops.crypto.verify.Trails.VENDOR_ROLE;
import static com.panops.crypto.verify.Trails.adminChange;
import static com.panops.crypto.verify.Trails.at;
import static com.panops.crypto.verify.Trails.vendorCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.verify.VerificationReport.Verdict;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the verifier computes for each cut: time to dark, first refusal, restore, violations. */
class TimeToDarkTest {
  @TempDir Path dir;

  static VerificationReport verify(Path dir, TrailVerifier.Builder b) {
    return b.build().verify(TrailSource.folder(dir));
  }

  static TrailVerifier.Builder vendor() {
    return TrailVerifier.builder().vendorPrincipal(VENDOR_ROLE);
  }

  static JsonNode principal(VerificationReport r, String key) {
    for (JsonNode k : r.json().path("keys")) {
      if (k.path("keyArn").asText().equals(key)) {
        return k.path("principals").get(0);
      }
    }
    throw new AssertionError("no key " + key + " in " + r.toJson());
  }

  @Test
  void aCutIsTimedFromTheDisableKeyToTheLastSuccessAndTheFirstRefusal() {
    List<ObjectNode> recs = new ArrayList<>();
    for (int s = 0; s < 10; s++) {
      recs.add(vendorCall("Decrypt", KEY, at(s), null));
    }
    recs.add(adminChange("DisableKey", KEY, at(10)));
    recs.add(vendorCall("GenerateDataKey", KEY, at(11), null)); // propagation: still served
    recs.add(vendorCall("Decrypt", KEY, at(13), "DisabledException"));
    recs.add(vendorCall("Decrypt", KEY, at(14), "DisabledException"));
    recs.add(adminChange("EnableKey", KEY, at(20)));
    recs.add(vendorCall("Decrypt", KEY, at(22), null));
    new Trails.Writer(dir).file(at(30), recs);

    VerificationReport r = verify(dir, vendor());

    assertEquals(Verdict.PASS, r.verdict(), r::toText);
    JsonNode p = principal(r, KEY);
    assertEquals(VENDOR_ROLE, p.path("principal").asText(), "sessions fold to their role");
    JsonNode cut = p.path("cuts").get(0);
    assertEquals(1, p.path("cuts").size());
    assertEquals(at(10).toString(), cut.path("at").asText());
    assertEquals("DisableKey", cut.path("by").asText());
    assertEquals(at(11).toString(), cut.path("lastSuccessAfter").asText());
    assertEquals(1.0, cut.path("timeToDarkSeconds").asDouble());
    assertEquals(at(13).toString(), cut.path("firstRefused").asText());
    assertEquals("DisabledException", cut.path("firstRefusedErrorCode").asText());
    assertEquals(3.0, cut.path("timeToFirstRefusalSeconds").asDouble());
    assertEquals(at(20).toString(), cut.path("restoredAt").asText());
    assertEquals(at(22).toString(), cut.path("firstSuccessAfterRestore").asText());
    assertEquals(12, p.path("calls").path("success").asLong());
    assertEquals(2, p.path("calls").path("refused").asLong());
    assertEquals(
        13, p.path("probes").path("decrypts").asLong(), "Decrypts with the probe user agent");
    assertEquals(1.0, p.path("probes").path("medianIntervalSeconds").asDouble(), 0.03);
    assertEquals(0, r.violations());
    JsonNode changes = r.json().path("keys").get(0).path("changes");
    assertEquals("cut", changes.get(0).path("effect").asText());
    assertEquals("restore", changes.get(1).path("effect").asText());
    assertEquals(ADMIN_ROLE, changes.get(0).path("by").asText());
    JsonNode summary = r.json().path("summary");
    assertEquals(1.0, summary.path("timeToDarkSeconds").path("max").asDouble());
    assertEquals(3.0, summary.path("timeToFirstRefusalSeconds").path("p50").asDouble());
  }

  @Test
  void aSuccessPastThePropagationWindowIsAViolationAndOneWithinItIsNot() {
    new Trails.Writer(dir)
        .file(
            at(200),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                adminChange("DisableKey", KEY, at(10)),
                vendorCall("Decrypt", KEY, at(69), null),
                vendorCall("Decrypt", KEY, at(75), null)));

    VerificationReport r = verify(dir, vendor().propagationWindow(Duration.ofSeconds(60)));

    assertEquals(Verdict.VIOLATION, r.verdict());
    assertEquals(1, r.violations(), "69 s after the cut is propagation; 75 s is not");
    JsonNode v = principal(r, KEY).path("violations").get(0);
    assertEquals(at(75).toString(), v.path("at").asText());
    assertEquals(65.0, v.path("secondsAfterCut").asDouble());
    assertEquals(1, Verdict.VIOLATION.exitCode());
  }

  @Test
  void aScheduledDeletionIsACutAndItsCancellationLeavesTheKeyDisabled() {
    new Trails.Writer(dir)
        .file(
            at(300),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                adminChange("ScheduleKeyDeletion", KEY, at(5)),
                vendorCall("Decrypt", KEY, at(6), "KMSInvalidStateException"),
                adminChange("CancelKeyDeletion", KEY, at(7)),
                vendorCall("Decrypt", KEY, at(100), null)));

    VerificationReport r = verify(dir, vendor());

    JsonNode cut = principal(r, KEY).path("cuts").get(0);
    assertEquals("ScheduleKeyDeletion", cut.path("by").asText());
    assertTrue(cut.path("restoredAt").isNull(), "a cancelled deletion leaves the key Disabled");
    assertEquals(Verdict.VIOLATION, r.verdict(), "a success on the still-disabled key");
  }

  @Test
  void aSuccessAfterTheKeyIsDeletedIsAViolation() {
    new Trails.Writer(dir)
        .file(
            at(100_000),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                adminChange("ScheduleKeyDeletion", KEY, at(10)),
                Trails.deleteKey(KEY, at(7 * 86_400)),
                vendorCall("Decrypt", KEY, at(7 * 86_400 + 5), null)));

    VerificationReport r = verify(dir, vendor().reorderWindow(Duration.ofDays(8)));

    assertEquals(1, r.violations());
    assertEquals(
        "DeleteKey",
        r.json().path("keys").get(0).path("changes").get(1).path("eventName").asText());
  }

  @Test
  void aVendorFirstSeenWhileCutOffStartsWithThatCutOpen() {
    new Trails.Writer(dir)
        .file(
            at(60),
            List.of(
                adminChange("DisableKey", KEY, at(0)),
                vendorCall("Decrypt", KEY, at(4), "DisabledException")));

    VerificationReport r = verify(dir, vendor());

    JsonNode cut = principal(r, KEY).path("cuts").get(0);
    assertEquals(at(0).toString(), cut.path("at").asText());
    assertEquals(4.0, cut.path("timeToFirstRefusalSeconds").asDouble());
    assertEquals(
        "cut",
        r.json().path("keys").get(0).path("changes").get(0).path("effect").asText(),
        "the change is marked a cut once a principal it cut is seen");
  }

  @Test
  void aRefusalInTheSecondOfTheRestoreIsTheCutsFirstRefusal() {
    new Trails.Writer(dir)
        .file(
            at(60),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                adminChange("DisableKey", KEY, at(1)),
                vendorCall("Decrypt", KEY, at(4), "DisabledException"),
                adminChange("EnableKey", KEY, at(4)),
                vendorCall("Decrypt", KEY, at(5), "DisabledException")));

    VerificationReport r = verify(dir, vendor());

    JsonNode cut = principal(r, KEY).path("cuts").get(0);
    assertEquals(at(4).toString(), cut.path("firstRefused").asText(), cut::toString);
    assertEquals(at(4).toString(), cut.path("restoredAt").asText());
  }

  @Test
  void withoutNamedVendorsEveryCallerFromAnotherAccountIsTheVendor() {
    new Trails.Writer(dir)
        .file(
            at(60),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                adminChange("DisableKey", KEY, at(1)),
                vendorCall("Decrypt", KEY_2, at(2), null)));

    VerificationReport r = verify(dir, TrailVerifier.builder());

    assertEquals(2, r.json().path("keys").size(), "the vendor's calls on both keys");
    assertEquals(1, r.cuts());
    assertEquals(VENDOR_ROLE, principal(r, KEY_2).path("principal").asText());
    assertEquals(
        "every caller from another account than the key's",
        r.json().path("settings").path("vendorRule").asText());
  }

  @Test
  void aTrailWithoutCutsSaysSo() {
    new Trails.Writer(dir).file(at(60), List.of(vendorCall("Decrypt", KEY, at(0), null)));

    VerificationReport r = verify(dir, vendor());

    assertEquals(Verdict.NO_CUTS, r.verdict());
    assertTrue(r.json().path("summary").path("timeToDarkSeconds").isNull());
    assertEquals(0, r.verdict().exitCode());
  }
}
