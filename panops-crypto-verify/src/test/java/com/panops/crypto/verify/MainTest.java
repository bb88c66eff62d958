package com.panops.crypto.verify;

import static com.panops.crypto.verify.Trails.KEY;
import static com.panops.crypto.verify.Trails.VENDOR_ROLE;
import static com.panops.crypto.verify.Trails.adminChange;
import static com.panops.crypto.verify.Trails.at;
import static com.panops.crypto.verify.Trails.vendorCall;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line: its reports, its exit codes, its errors. */
class MainTest {
  @TempDir Path dir;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... args) {
    return Main.run(
        args,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8),
        false);
  }

  @Test
  void aCleanTrailExitsZeroAndWritesEveryReport() throws IOException {
    new Trails.Writer(dir.resolve("trail"))
        .file(
            at(60),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null), adminChange("DisableKey", KEY, at(1))));
    Path json = dir.resolve("r.json");
    Path html = dir.resolve("r.html");

    int code =
        run(
            "--vendor",
            VENDOR_ROLE,
            "--json",
            json.toString(),
            "--html",
            html.toString(),
            dir.resolve("trail").toString());

    assertEquals(0, code, err::toString);
    String text = out.toString(StandardCharsets.UTF_8);
    assertTrue(text.startsWith("panops-crypto-verify: PASS"), text);
    assertTrue(text.contains("cut " + at(1) + " by DisableKey"), text);
    JsonNode doc = Trails.JSON.readTree(json.toFile());
    assertEquals("panops-crypto-verify/1", doc.path("schema").asText());
    assertEquals(1, doc.path("summary").path("cuts").asInt());
    assertTrue(Files.readString(html).startsWith("<!DOCTYPE html>"));
  }

  @Test
  void aViolationExitsOne() {
    new Trails.Writer(dir)
        .file(
            at(600),
            List.of(
                vendorCall("Decrypt", KEY, at(0), null),
                adminChange("DisableKey", KEY, at(1)),
                vendorCall("Decrypt", KEY, at(300), null)));

    assertEquals(1, run("--vendor", VENDOR_ROLE, "--quiet", "--json", "-", dir.toString()));
    assertTrue(out.toString(StandardCharsets.UTF_8).contains("\"verdict\" : \"VIOLATION\""));
  }

  @Test
  void badArgumentsExitTwoWithTheUsage() {
    assertEquals(2, run("--propagation-window", "soon", dir.toString()));
    assertTrue(
        err.toString(StandardCharsets.UTF_8)
            .contains("--propagation-window needs a number of seconds"));
    assertEquals(2, run());
    assertEquals(2, run("--vendor", "PanOps", dir.toString()));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("an ARN or a 12-digit account id"));
    assertEquals(2, run(dir.resolve("missing").toString()));
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("not a folder"));
  }

  @Test
  void onATerminalAProgressBarCountsTheFilesOnStandardError() {
    Trails.Writer w = new Trails.Writer(dir);
    w.file(at(60), List.of(vendorCall("Decrypt", KEY, at(0), null)));
    w.file(at(120), List.of(vendorCall("Decrypt", KEY, at(70), null)));

    int code =
        Main.run(
            new String[] {"--quiet", dir.toString()},
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            true);

    assertEquals(0, code);
    String bar = err.toString(StandardCharsets.UTF_8);
    assertTrue(bar.contains("\r[###############               ] 1/2 files"), bar);
    assertTrue(bar.contains("] 2/2 files"), bar);
    assertEquals("", out.toString(StandardCharsets.UTF_8), "--quiet");
  }

  @Test
  void helpPrintsTheUsage() {
    assertEquals(0, run("--help"));
    assertTrue(
        out.toString(StandardCharsets.UTF_8).contains("exit code: 0 PASS or NO_CUTS, 1 VIOLATION"));
  }
}
