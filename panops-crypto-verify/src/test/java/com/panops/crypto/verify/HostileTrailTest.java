package com.panops.crypto.verify;

import static com.panops.crypto.verify.TimeToDarkTest.principal;
import static com.panops.crypto.verify.TimeToDarkTest.vendor;
import static com.panops.crypto.verify.TimeToDarkTest.verify;
import static com.panops.crypto.verify.Trails.KEY;
import static com.panops.crypto.verify.Trails.adminChange;
import static com.panops.crypto.verify.Trails.at;
import static com.panops.crypto.verify.Trails.vendorCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.verify.VerificationReport.Verdict;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Input as CloudTrail delivers it and worse: duplicates, out-of-order delivery, other services,
 * malformed records, truncated gzip, files that are not CloudTrail's. Nothing is counted twice,
 * records are analysed in event-time order, and whatever cannot be used is named.
 */
class HostileTrailTest {
  @TempDir Path dir;

  @Test
  void aRecordDeliveredTwiceIsCountedOnce() {
    ObjectNode call = vendorCall("Decrypt", KEY, at(1), null);
    Trails.Writer w = new Trails.Writer(dir);
    w.file(at(60), List.of(call, adminChange("DisableKey", KEY, at(2))));
    w.file(at(120), List.of(call.deepCopy()));

    VerificationReport r = verify(dir, vendor());

    assertEquals(1, r.json().path("input").path("duplicates").asLong());
    assertEquals(1, principal(r, KEY).path("calls").path("success").asLong());
    assertEquals(Verdict.PASS, r.verdict(), r::toText);
  }

  @Test
  void aLaterFileHoldingEarlierEventsIsPutInEventTimeOrder() {
    Trails.Writer w = new Trails.Writer(dir);
    // delivered first: the vendor's calls after the cut; delivered later: the cut itself
    w.file(
        at(60),
        List.of(
            vendorCall("Decrypt", KEY, at(12), null),
            vendorCall("Decrypt", KEY, at(14), "DisabledException")));
    w.file(
        at(360),
        List.of(vendorCall("Decrypt", KEY, at(1), null), adminChange("DisableKey", KEY, at(10))));

    VerificationReport r = verify(dir, vendor());

    JsonNode cut = principal(r, KEY).path("cuts").get(0);
    assertEquals(2.0, cut.path("timeToDarkSeconds").asDouble());
    assertEquals(4.0, cut.path("timeToFirstRefusalSeconds").asDouble());
    assertEquals(Verdict.PASS, r.verdict());
  }

  @Test
  void withinOneSecondChangesKeepTheirOrderAndTheVendorsCallsComeAfterThem() {
    // CloudTrail's times are whole seconds and same-minute files have no order: here each second's
    // records arrive in the least favourable order
    new Trails.Writer(dir)
        .file(
            at(60),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                vendorCall("Decrypt", KEY, at(5), "DisabledException"),
                vendorCall("Decrypt", KEY, at(5), null),
                adminChange("ScheduleKeyDeletion", KEY, at(5)),
                vendorCall("Decrypt", KEY, at(9), null),
                adminChange("CancelKeyDeletion", KEY, at(9)),
                adminChange("EnableKey", KEY, at(9))));

    VerificationReport r = verify(dir, vendor().propagationWindow(Duration.ZERO));

    JsonNode cut = principal(r, KEY).path("cuts").get(0);
    assertEquals(0.0, cut.path("timeToDarkSeconds").asDouble(), cut::toString);
    assertEquals(0.0, cut.path("timeToFirstRefusalSeconds").asDouble(), "the refusal, after it");
    assertEquals(at(9).toString(), cut.path("restoredAt").asText(), "cancel, then enable");
    assertEquals(at(9).toString(), cut.path("firstSuccessAfterRestore").asText());
    assertEquals(0, r.violations(), "a success in the cut's second is 0 s after it");
  }

  @Test
  void aKeyIsCreatedBeforeAnythingElseInItsSecond() {
    Trails.Writer w = new Trails.Writer(dir);
    // the same second, in two files of the same minute: the policy change arrives first
    w.file(
        at(50), List.of(Trails.putKeyPolicy(KEY, at(5)), vendorCall("Decrypt", KEY, at(9), null)));
    ObjectNode create = adminChange("CreateKey", KEY, at(5));
    ((ObjectNode) create.get("requestParameters"))
        .put(
            "policy",
            Trails.putKeyPolicy(KEY, at(5), Trails.VENDOR_ROLE)
                .get("requestParameters")
                .get("policy")
                .asText());
    w.file(at(55), List.of(create));

    VerificationReport r = verify(dir, vendor().propagationWindow(Duration.ZERO));

    assertEquals(1, principal(r, KEY).path("cuts").size(), r::toText);
    assertEquals(
        Verdict.VIOLATION, r.verdict(), "the success 4 s after the vendor left the policy");
  }

  @Test
  void anEventLaterThanTheReorderWindowIsReportedAndTheVerdictIsIncomplete() {
    Trails.Writer w = new Trails.Writer(dir);
    w.file(
        at(5060),
        List.of(
            vendorCall("Decrypt", KEY, at(100), null), vendorCall("Decrypt", KEY, at(5000), null)));
    w.file(at(6000), List.of(adminChange("DisableKey", KEY, at(1))));

    VerificationReport r = verify(dir, vendor().reorderWindow(Duration.ofMinutes(10)));

    assertEquals(1, r.json().path("input").path("late").asLong());
    assertEquals(Verdict.INCOMPLETE, r.verdict());
    assertEquals(3, r.verdict().exitCode());
  }

  @Test
  void otherServicesAreCountedAndNotAnalysed() {
    new Trails.Writer(dir)
        .file(at(60), List.of(Trails.otherService(at(1)), vendorCall("Decrypt", KEY, at(2), null)));

    VerificationReport r = verify(dir, vendor());

    assertEquals(1, r.json().path("input").path("otherServices").asLong());
    assertEquals(1, r.json().path("input").path("kmsRecords").asLong());
    assertEquals(Verdict.NO_CUTS, r.verdict());
  }

  @Test
  void aMalformedRecordIsNamedAndTheOthersOfItsFileAreKept() {
    ObjectNode noTime = vendorCall("Decrypt", KEY, at(3), null);
    noTime.remove("eventTime");
    ObjectNode badTime = vendorCall("Decrypt", KEY, at(3), null).put("eventTime", "yesterday");
    List<ObjectNode> recs =
        new ArrayList<>(List.of(vendorCall("Decrypt", KEY, at(1), null), noTime, badTime));
    new Trails.Writer(dir).file(at(60), recs);

    VerificationReport r = verify(dir, vendor());

    JsonNode in = r.json().path("input");
    assertEquals(2, in.path("malformed").asLong());
    assertTrue(
        in.path("unreadable").get(0).path("problem").asText().contains("record 2: no eventTime"),
        in::toString);
    assertTrue(
        in.path("unreadable").get(1).path("problem").asText().contains("not an ISO-8601"),
        in::toString);
    assertEquals(1, principal(r, KEY).path("calls").path("success").asLong());
    assertEquals(Verdict.INCOMPLETE, r.verdict());
  }

  @Test
  void aTruncatedGzipKeepsTheRecordsBeforeTheBreakAndNamesTheFile() throws IOException {
    List<ObjectNode> recs = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      recs.add(vendorCall("Decrypt", KEY, at(i), null));
    }
    Path f = new Trails.Writer(dir).file(at(3000), recs);
    byte[] whole = Files.readAllBytes(f);
    Files.write(f, Arrays.copyOf(whole, whole.length / 2));

    VerificationReport r = verify(dir, vendor());

    JsonNode in = r.json().path("input");
    assertEquals(1, in.path("unreadableFiles").asLong());
    String problem = in.path("unreadable").get(0).path("problem").asText();
    assertTrue(problem.startsWith("cut short after record "), problem);
    long kept = principal(r, KEY).path("calls").path("success").asLong();
    assertTrue(kept > 0 && kept < 2000, "the records before the break: " + kept);
    assertEquals(Verdict.INCOMPLETE, r.verdict());
  }

  @Test
  void aFileThatIsNotACloudTrailLogIsNamed() throws IOException {
    Path d = Files.createDirectories(dir.resolve("AWSLogs"));
    Files.writeString(d.resolve("notes.json"), "[1,2,3]", StandardCharsets.UTF_8);
    Files.writeString(
        d.resolve("garbage.json.gz"), "\u001f\u008bnot gzip", StandardCharsets.ISO_8859_1);
    Files.writeString(
        d.resolve("broken.json"), "{\"Records\":[{\"eventTime\":", StandardCharsets.UTF_8);

    VerificationReport r = verify(dir, vendor());

    JsonNode in = r.json().path("input");
    assertEquals(3, in.path("unreadableFiles").asLong(), in::toString);
    assertEquals(Verdict.INCOMPLETE, r.verdict());
    String text = r.toText();
    assertTrue(text.contains("notes.json: not a CloudTrail log file"), text);
  }

  @Test
  void digestFilesAreNotReadAsLogs() throws IOException {
    Path d =
        Files.createDirectories(dir.resolve("AWSLogs/111122223333/CloudTrail-Digest/us-east-1"));
    Files.writeString(d.resolve("x_CloudTrail-Digest_us-east-1_20261208T1000Z.json.gz"), "{}");
    new Trails.Writer(dir).file(at(60), List.of(vendorCall("Decrypt", KEY, at(1), null)));

    VerificationReport r = verify(dir, vendor());

    assertEquals(1, r.json().path("input").path("files").asLong());
    assertTrue(r.json().path("input").path("complete").asBoolean());
  }
}
