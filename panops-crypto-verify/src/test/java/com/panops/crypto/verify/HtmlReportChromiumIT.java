package com.panops.crypto.verify;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jsoup.Jsoup;
import org.jsoup.nodes.Document;
import org.jsoup.nodes.Element;
import org.jsoup.select.Elements;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML report as a browser draws it: the page is rendered by headless Chromium (Debian's
 * package, or the one {@code -Dpanops.chromium=PATH} names) and the tests read the DOM it dumps.
 */
class HtmlReportChromiumIT {
  private static final long TIMEOUT_SECONDS = 60;

  @TempDir static Path dir;
  private static Path page;
  private static Document dom;
  private static Document quiet;

  @BeforeAll
  static void render() throws Exception {
    page = dir.resolve("report.html");
    try (Writer out = Files.newBufferedWriter(page, UTF_8)) {
      HtmlReport.write(SampleReport.report(), out);
    }
    dom = Jsoup.parse(chromiumDom(page), page.toUri().toString());
    Path quietPage = dir.resolve("quiet.html");
    try (Writer out = Files.newBufferedWriter(quietPage, UTF_8)) {
      HtmlReport.write(SampleReport.quiet(), out);
    }
    quiet = Jsoup.parse(chromiumDom(quietPage), quietPage.toUri().toString());
  }

  @Test
  void aReportWithoutCutsOrReconciliationIsDrawnWithItsGaps() {
    assertEquals("", quiet.body().attr("data-render-error"), "the page's script failed");
    assertEquals("true", quiet.body().attr("data-rendered"));
    assertEquals("NO_CUTS", quiet.getElementById("verdict").text());
    Elements keys = quiet.select("section.key");
    assertEquals(1, keys.size());
    Element timeline = keys.first().selectFirst("div.timeline");
    assertEquals("0", timeline.attr("data-cuts"));
    assertTrue(timeline.select("svg path").size() > 40, "no bars were drawn");
    assertEquals(0, texts(timeline, "dark"));
    assertTrue(quiet.select("table.cuts, .violations, .unreadable").isEmpty());
    assertTrue(quiet.getElementById("reconciliation") == null, "a reconciliation out of null");
    String summary = quiet.getElementById("summary").text();
    assertTrue(summary.contains("time to dark \u2014 \u2014 \u2014"), summary);
    assertTrue(keys.first().text().contains("no probe seen"), keys.first().text());
  }

  @Test
  void theScriptDrawsEveryChartAndMarksThePageRendered() {
    Element body = dom.body();
    assertEquals("", body.attr("data-render-error"), "the page's script failed");
    assertEquals("true", body.attr("data-rendered"), "the page never finished drawing");
    assertEquals("2", body.attr("data-charts"));
    assertEquals("VIOLATION", dom.getElementById("verdict").text());
    assertEquals("KMS kill switch report: VIOLATION", dom.title());
  }

  @Test
  void eachKeyHasItsSectionNamedByItsArn() {
    Elements keys = dom.select("section.key");
    assertEquals(2, keys.size());
    assertEquals(SampleReport.HOSTILE_ARN, keys.get(0).attr("data-key-arn"));
    assertEquals(SampleReport.HOSTILE_ARN, keys.get(0).selectFirst("h2").text());
    assertEquals(SampleReport.PLAIN_ARN, keys.get(1).attr("data-key-arn"));
    assertEquals(2, keys.get(0).select("table.cuts tbody tr").size());
    assertEquals(1, keys.get(1).select("table.cuts tbody tr").size());
  }

  @Test
  void eachTimelineIsAnEchartsSvgWithOneLabelledLinePerCutAndRestore() {
    Elements keys = dom.select("section.key");
    int[][] expected = {{2, 1, 1}, {1, 1, 0}}; // cuts, restores, violations
    for (int k = 0; k < keys.size(); k++) {
      Elements timelines = keys.get(k).select("div.timeline");
      assertEquals(1, timelines.size(), "one timeline per key");
      Element timeline = timelines.first();
      assertEquals("true", timeline.attr("data-rendered"));
      assertEquals(String.valueOf(expected[k][0]), timeline.attr("data-cuts"));
      assertEquals(String.valueOf(expected[k][2]), timeline.attr("data-violations"));
      Element svg = timeline.selectFirst("svg");
      assertTrue(svg != null, "ECharts drew no <svg> for key " + k);
      assertTrue(svg.select("path").size() > 40, "too few paths: no bars were drawn for key " + k);
      assertEquals(expected[k][0], texts(svg, "cut: DisableKey"), "cut lines of key " + k);
      assertEquals(expected[k][1], texts(svg, "restore: EnableKey"), "restore lines of key " + k);
      assertEquals(expected[k][2], texts(svg, "violation"), "violation points of key " + k);
      assertEquals(expected[k][0], texts(svg, "dark"), "dark periods of key " + k);
    }
  }

  @Test
  void aViolationIsListedAsAnAlarmUnderItsKey() {
    Elements keys = dom.select("section.key");
    Elements alarms = keys.get(0).select(".violations.alarm li.violation");
    assertEquals(1, alarms.size());
    assertEquals(SampleReport.VIOLATION_REQUEST_ID, alarms.first().attr("data-request-id"));
    assertTrue(alarms.first().text().contains("75 s after the cut"), alarms.first().text());
    assertTrue(alarms.first().text().contains("e-1\"<b>bold</b>"), alarms.first().text());
    assertTrue(keys.get(1).select(".violations").isEmpty());
  }

  @Test
  void hostileStringsAppearAsTextAndNeverAsMarkup() {
    assertTrue(dom.select("img").isEmpty(), "an <img> was made from the trail");
    assertTrue(dom.select("b").isEmpty(), "a <b> was made from the trail");
    assertEquals(3, dom.select("script").size(), "the data, ECharts and the page's script only");
    Element principal = dom.selectFirst("section.key .principal h3");
    assertEquals(SampleReport.HOSTILE_PRINCIPAL, principal.text());
    assertEquals(1, principal.childNodeSize(), "the principal is one text node");
  }

  @Test
  void thePageLoadsNothing() throws IOException {
    Document written = Jsoup.parse(Files.readString(page, UTF_8));
    assertTrue(written.select("[src], [href], link, iframe, object, embed").isEmpty());
    assertTrue(dom.select("[src], [href], link, iframe, object, embed").isEmpty());
    Element csp = dom.selectFirst("meta[http-equiv=Content-Security-Policy]");
    assertTrue(csp != null, "no Content-Security-Policy");
    assertTrue(csp.attr("content").startsWith("default-src 'none'; "), csp.attr("content"));
  }

  @Test
  void theReconciliationListsWhatIsOnOnlyOneSide() {
    Element section = dom.getElementById("reconciliation");
    assertTrue(section != null, "no reconciliation section");
    assertEquals(1, section.select("table.audit-only tbody tr").size());
    assertEquals(1, section.select("table.trail-only tbody tr").size());
    assertTrue(section.text().contains("no audit event"), section.text());
  }

  private static int texts(Element svg, String label) {
    return (int) svg.select("text").stream().filter(t -> t.text().equals(label)).count();
  }

  /** Runs Chromium on the page and returns the DOM it dumped after running the page's scripts. */
  private static String chromiumDom(Path html) throws IOException, InterruptedException {
    String chromium = System.getProperty("panops.chromium", "/usr/bin/chromium");
    if (!Files.isExecutable(Path.of(chromium))) {
      fail(
          "Chromium is needed to test the HTML report and is not at "
              + chromium
              + ": install Debian's package (apt-get install chromium) or name another with"
              + " -Dpanops.chromium=PATH");
    }
    Path profile = Files.createTempDirectory(dir, "chromium-profile");
    Path stdout = dir.resolve("chromium.out");
    Path stderr = dir.resolve("chromium.err");
    List<String> command =
        List.of(
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--user-data-dir=" + profile,
            "--virtual-time-budget=10000",
            "--dump-dom",
            html.toUri().toString());
    Process process =
        new ProcessBuilder(command)
            .redirectOutput(stdout.toFile())
            .redirectError(stderr.toFile())
            .start();
    if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly().waitFor();
      fail("Chromium did not finish in " + TIMEOUT_SECONDS + " s; its stderr:\n" + read(stderr));
    }
    String dumped = read(stdout);
    if (process.exitValue() != 0 || !dumped.contains("<body")) {
      fail(
          "Chromium exited "
              + process.exitValue()
              + " without the page's DOM; its stderr:\n"
              + read(stderr));
    }
    return dumped;
  }

  private static String read(Path file) throws IOException {
    return Files.exists(file) ? Files.readString(file, UTF_8) : "";
  }
}
