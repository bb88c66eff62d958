package com.panops.crypto.verify;

import static com.panops.crypto.verify.TimeToDarkTest.principal;
import static com.panops.crypto.verify.TimeToDarkTest.vendor;
import static com.panops.crypto.verify.TimeToDarkTest.verify;
import static com.panops.crypto.verify.Trails.KEY;
import static com.panops.crypto.verify.Trails.VENDOR_ROLE;
import static com.panops.crypto.verify.Trails.adminChange;
import static com.panops.crypto.verify.Trails.at;
import static com.panops.crypto.verify.Trails.vendorCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.verify.VerificationReport.Verdict;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records built to hide a violation or crash the verifier (the review of the verifier's first
 * version found each): none may turn a violation into a PASS, and none may end the run with
 * anything but a report.
 */
class HostileRecordsTest {
  @TempDir Path dir;

  /** The baseline: a call, a cut, a success five seconds later (a violation with window 0). */
  private static List<ObjectNode> baseline() {
    return List.of(
        vendorCall("Decrypt", KEY, at(0), null),
        adminChange("DisableKey", KEY, at(1)),
        vendorCall("Decrypt", KEY, at(6), null));
  }

  private VerificationReport strict() {
    return verify(dir, vendor().propagationWindow(Duration.ZERO));
  }

  @Test
  void aCopyOfAViolationThatSaysItFailedIsAConflictAndTheViolationStands() {
    ObjectNode success = baseline().get(2);
    ObjectNode forged = success.deepCopy().put("errorCode", "AccessDeniedException");
    Trails.Writer w = new Trails.Writer(dir);
    w.file(at(3), List.of(forged));
    w.file(at(60), List.of(baseline().get(0), baseline().get(1), success));

    VerificationReport r = strict();

    assertEquals(1, r.json().path("input").path("conflicts").asLong(), r::toText);
    assertFalse(r.verdict() == Verdict.PASS || r.verdict() == Verdict.NO_CUTS, r::toText);
  }

  @Test
  void aConflictingCopyThatSucceededDuringACutIsAViolation() {
    List<ObjectNode> b = baseline();
    ObjectNode refused = vendorCall("Decrypt", KEY, at(6), "DisabledException");
    ObjectNode success = refused.deepCopy();
    success.remove("errorCode");
    Trails.Writer w = new Trails.Writer(dir);
    w.file(at(60), List.of(b.get(0), b.get(1), refused));
    w.file(at(120), List.of(success));

    VerificationReport r = strict();

    assertEquals(Verdict.VIOLATION, r.verdict(), r::toText);
    assertTrue(principal(r, KEY).path("violations").get(0).path("late").asBoolean());
  }

  @Test
  void aLateSuccessDuringACutIsStillAViolation() {
    List<ObjectNode> b = baseline();
    Trails.Writer w = new Trails.Writer(dir);
    w.file(
        at(60),
        List.of(
            b.get(0),
            b.get(1),
            vendorCall("Decrypt", KEY, at(700), "DisabledException"),
            vendorCall("Decrypt", KEY, at(5000), "DisabledException")));
    w.file(at(6000), List.of(b.get(2))); // the success at 6 s, delivered past the reorder window

    VerificationReport r =
        verify(
            dir, vendor().propagationWindow(Duration.ZERO).reorderWindow(Duration.ofMinutes(10)));

    assertEquals(Verdict.VIOLATION, r.verdict(), r::toText);
    assertEquals(1, r.json().path("input").path("late").asLong(), r::toText);
  }

  @Test
  void eventTimesOutsideSaneYearsAreMalformedNotACrash() {
    List<ObjectNode> b = baseline();
    ObjectNode ancient =
        adminChange("DisableKey", KEY, at(1)).put("eventTime", "1600-01-01T00:00:00Z");
    ObjectNode far =
        vendorCall("Decrypt", KEY, at(2), null).put("eventTime", "+999999999-01-01T00:00:00Z");
    ObjectNode future =
        vendorCall("Decrypt", KEY, at(2), null).put("eventTime", "2099-01-01T00:00:00Z");
    new Trails.Writer(dir)
        .file(at(60), List.of(b.get(0), ancient, far, future, b.get(1), b.get(2)));

    VerificationReport r = strict();

    assertEquals(3, r.json().path("input").path("malformed").asLong(), r::toText);
    assertEquals(Verdict.VIOLATION, r.verdict(), "the genuine records still show the violation");
  }

  @Test
  void aRecordOfAHundredThousandTokensEndsItsFileNotTheRun() {
    ObjectNode bomb = Trails.otherService(at(3));
    ArrayNode pad = bomb.putArray("pad");
    for (int i = 0; i < 150_000; i++) {
      pad.add(0);
    }
    new Trails.Writer(dir)
        .file(at(60), List.of(baseline().get(0), baseline().get(1), bomb, baseline().get(2)));

    VerificationReport r = strict();

    String problem = r.json().path("input").path("unreadable").get(0).path("problem").asText();
    assertTrue(problem.contains("more than 100000 JSON tokens"), problem);
    assertEquals(Verdict.INCOMPLETE, r.verdict(), "the records after the bomb were not read");
  }

  @Test
  void everyGzipMemberEveryRecordsArrayAndNothingElseIsRead() throws IOException {
    List<ObjectNode> b = baseline();
    Path f = dir.resolve("AWSLogs/x_CloudTrail_us-east-1_20261101T1001Z_a.json.gz");
    Files.createDirectories(f.getParent());
    ByteArrayOutputStream whole = new ByteArrayOutputStream();
    whole.write(gzip("{\"Records\":[" + b.get(0) + "],\"Records\":[" + b.get(1) + "]}"));
    whole.write(gzip("{\"Records\":[" + b.get(2) + "]}")); // as `cat a.gz b.gz` makes
    Files.write(f, whole.toByteArray());

    VerificationReport r = strict();

    assertEquals(3, r.json().path("input").path("kmsRecords").asLong(), r::toText);
    assertEquals(Verdict.VIOLATION, r.verdict());

    Files.write(f, gzip("{\"Records\":[" + b.get(0) + "]} trailing"));
    assertEquals(
        1, strict().json().path("input").path("unreadableFiles").asLong(), "trailing garbage");
  }

  private static byte[] gzip(String s) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (OutputStream g = new GZIPOutputStream(out)) {
      g.write(s.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  @Test
  void membersOfTheWrongTypeMakeARecordMalformedNotHarmless() {
    List<ObjectNode> b = baseline();
    ObjectNode oddError = adminChange("EnableKey", KEY, at(2));
    oddError.putObject("errorCode").put("x", 1);
    ObjectNode oddIdentity = b.get(2).deepCopy().put("userIdentity", "someone");
    ObjectNode noSource = vendorCall("Decrypt", KEY, at(4), null);
    noSource.remove("eventSource");
    ObjectNode oddPolicy = Trails.putKeyPolicy(KEY, at(3));
    ((ObjectNode) oddPolicy.get("requestParameters")).putObject("policy").put("Statement", "x");
    new Trails.Writer(dir)
        .file(
            at(60),
            List.of(b.get(0), b.get(1), oddError, oddIdentity, noSource, oddPolicy, b.get(2)));

    VerificationReport r = strict();

    assertEquals(4, r.json().path("input").path("malformed").asLong(), r::toText);
    assertEquals(Verdict.VIOLATION, r.verdict());
  }

  @Test
  void aCallFromTheVendorsAccountThatNamesNoArnIsTheVendors() {
    List<ObjectNode> b = baseline();
    ObjectNode byAccount = b.get(2).deepCopy();
    byAccount
        .putObject("userIdentity")
        .put("type", "AWSAccount")
        .put("principalId", "AROAEXAMPLE:worker-1")
        .put("accountId", "999988887777");
    new Trails.Writer(dir).file(at(60), List.of(b.get(0), b.get(1), byAccount));

    VerificationReport r = strict();

    assertEquals(Verdict.VIOLATION, r.verdict(), r::toText);
    assertTrue(r.toText().contains("account:999988887777"), r::toText);
  }

  @Test
  void aRoleIsOneRoleWithOrWithoutItsPathAndAsASession() {
    List<ObjectNode> b = baseline();
    ObjectNode withPath = b.get(2).deepCopy();
    ((ObjectNode) withPath.get("userIdentity").get("sessionContext").get("sessionIssuer"))
        .put("arn", "arn:aws:iam::999988887777:role/svc/PanOpsServiceRole");
    new Trails.Writer(dir).file(at(60), List.of(b.get(0), b.get(1), withPath));

    VerificationReport r =
        verify(
            dir,
            TrailVerifier.builder()
                .vendorPrincipal(
                    "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/worker-9")
                .propagationWindow(Duration.ZERO));

    assertEquals(1, r.json().path("keys").get(0).path("principals").size(), r::toText);
    assertEquals(VENDOR_ROLE, principal(r, KEY).path("principal").asText());
    assertEquals(Verdict.VIOLATION, r.verdict());
  }

  @Test
  void aSourceWithoutTheVendorsCallsVerifiesNothingAndSaysSo() throws IOException {
    Files.createDirectories(dir.resolve("AWSLogs"));
    VerificationReport empty = strict();
    assertEquals(Verdict.INCOMPLETE, empty.verdict());
    assertTrue(empty.toText().contains("no log file was found"), empty::toText);

    new Trails.Writer(dir).file(at(60), List.of(adminChange("DisableKey", KEY, at(1))));
    VerificationReport nobody =
        verify(dir, TrailVerifier.builder().vendorPrincipal("arn:aws:iam::999988887777:role/Typo"));
    assertEquals(Verdict.INCOMPLETE, nobody.verdict());
    assertTrue(nobody.toText().contains("no call by a vendor principal"), nobody::toText);
  }

  @Test
  void anyCryptographicUseOfACutKeyIsAViolation() {
    List<ObjectNode> b = baseline();
    new Trails.Writer(dir)
        .file(at(60), List.of(b.get(0), b.get(1), vendorCall("GenerateMac", KEY, at(6), null)));

    assertEquals(Verdict.VIOLATION, strict().verdict());
  }

  @Test
  void theTextReportWritesControlCharactersFromTheTrailAsEscapes() {
    List<ObjectNode> b = baseline();
    ObjectNode sneaky = b.get(2).deepCopy().put("requestID", "\u001b[2J\u001b[1;1HPASS\r\u202e");
    new Trails.Writer(dir).file(at(60), List.of(b.get(0), b.get(1), sneaky));

    String text = strict().toText();

    assertFalse(text.contains("\u001b") || text.contains("\r") || text.contains("\u202e"), text);
    assertTrue(text.contains("\\u001b[2J"), text);
  }

  @Test
  void aKeysChangesAreBoundedAndCounted() {
    List<ObjectNode> recs =
        new java.util.ArrayList<>(List.of(vendorCall("Decrypt", KEY, at(0), null)));
    for (int i = 0; i < KeyTrack.MAX_CHANGES_LISTED + 5; i++) {
      recs.add(Trails.createGrant(KEY, at(1), "arn:aws:iam::111122223333:role/Other", "g" + i));
    }
    new Trails.Writer(dir).file(at(60), recs);

    JsonNode key = strict().json().path("keys").get(0);

    assertEquals(KeyTrack.MAX_CHANGES_LISTED, key.path("changes").size());
    assertEquals(KeyTrack.MAX_CHANGES_LISTED + 5, key.path("changeCount").asLong());
  }

  @Test
  void aCopyDifferingInAnyMemberIsAConflictAndAnEmptyErrorCodeIsMalformed() {
    List<ObjectNode> b = baseline();
    ObjectNode otherAccount = b.get(2).deepCopy();
    ((ObjectNode) otherAccount.get("userIdentity")).put("accountId", "123456789012");
    ObjectNode emptyError = b.get(2).deepCopy().put("errorCode", "");
    emptyError.put("eventID", "another-id");
    Trails.Writer w = new Trails.Writer(dir);
    w.file(at(3), List.of(otherAccount, emptyError));
    w.file(at(60), b);

    VerificationReport r = strict();

    assertEquals(1, r.json().path("input").path("conflicts").asLong(), r::toText);
    assertEquals(1, r.json().path("input").path("malformed").asLong(), r::toText);
    assertEquals(Verdict.VIOLATION, r.verdict());
  }

  @Test
  void aRecordOfManyLongStringsEndsItsFileNotTheRun() {
    ObjectNode big = Trails.otherService(at(3));
    ArrayNode pad = big.putArray("pad");
    for (int i = 0; i < 40; i++) {
      pad.add("x".repeat(10_000));
    }
    new Trails.Writer(dir).file(at(60), List.of(baseline().get(0), big));

    String problem =
        strict().json().path("input").path("unreadable").get(0).path("problem").asText();

    assertTrue(problem.contains("more than 262144 characters"), problem);
  }

  @Test
  void aFileOfManyLargeRecordsIsReleasedEarlyInsteadOfHeldWhole() {
    // 90 records of 200,000-character request ids: more than Reorder holds (16 Mi characters),
    // so the oldest go to the analysis before the file ends
    List<ObjectNode> recs = new java.util.ArrayList<>(baseline().subList(0, 2));
    for (int i = 0; i < 90; i++) {
      recs.add(
          vendorCall("Decrypt", KEY, at(10 + i), "DisabledException")
              .put("requestID", i + "x".repeat(200_000)));
    }
    recs.add(vendorCall("Decrypt", KEY, at(200), null));
    new Trails.Writer(dir).file(at(600), recs);

    VerificationReport r = strict();

    assertEquals(93, r.json().path("input").path("kmsRecords").asLong(), r::toText);
    assertEquals(Verdict.VIOLATION, r.verdict(), "in order still: the success after the cut");
    assertEquals(0, r.json().path("input").path("late").asLong());
  }
}
