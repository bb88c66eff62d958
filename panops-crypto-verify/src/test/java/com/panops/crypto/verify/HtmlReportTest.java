package com.panops.crypto.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class HtmlReportTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String NASTY =
      "</script><img src=x onerror=alert(1)> <!-- & \u2028 \u2029 </SCRIPT > \"quoted\" 'single'";

  @Test
  void embeddedJsonHoldsNoCharacterThatCouldEndTheScriptElementOrStartMarkup() throws Exception {
    ObjectNode node = JSON.createObjectNode().put("schema", HtmlReport.SCHEMA).put("keyArn", NASTY);
    node.putArray("list").add(NASTY).addObject().put(NASTY, NASTY);

    String embedded = HtmlReport.embeddedJson(node);

    for (char c : new char[] {'<', '>', '&', '\u2028', '\u2029'}) {
      assertEquals(-1, embedded.indexOf(c), () -> "embedded JSON holds U+" + (int) c);
    }
    assertTrue(embedded.contains("\\u003c/script\\u003e\\u003cimg"), embedded);
    assertTrue(embedded.contains("\\u0026 \\u2028 \\u2029"), embedded);
  }

  @Test
  void embeddedJsonParsesBackToTheSameReport() throws Exception {
    ObjectNode node = JSON.createObjectNode().put("keyArn", NASTY).put("n", 1.5);
    node.putNull("absent");

    JsonNode back = JSON.readTree(HtmlReport.embeddedJson(node));

    assertEquals(node, back);
    assertEquals(NASTY, back.get("keyArn").asText());
  }

  @Test
  void pageHoldsTheReportOnlyInItsDataElementAndRunsOnlyItsOwnScripts() throws Exception {
    String page = page(SampleReport.report());
    String markup =
        Pattern.compile("<script>.*?</script>", Pattern.DOTALL).matcher(page).replaceAll("");

    assertFalse(markup.contains("<img"), "a hostile string became markup");
    assertFalse(markup.contains("<b>"), "a hostile string became markup");
    assertFalse(
        page.contains(SampleReport.HOSTILE_ARN), "the hostile ARN is in the page unescaped");
    assertEquals(3, count(page, "<script"), "scripts: the data, ECharts, the page's own");
    assertEquals(3, count(page, "</script>"));
    assertTrue(page.contains("<script type=\"application/json\" id=\"report-data\">"));
    int data = page.indexOf("id=\"report-data\">") + "id=\"report-data\">".length();
    String json = page.substring(data, page.indexOf("</script>", data));
    assertEquals(SampleReport.report(), JSON.readTree(json));
  }

  @Test
  void pagePolicyForbidsEveryFetchAndAllowsExactlyTheInlinedScripts() throws Exception {
    String page = page(SampleReport.report());
    Matcher meta =
        Pattern.compile("<meta http-equiv=\"Content-Security-Policy\" content=\"([^\"]*)\">")
            .matcher(page);
    assertTrue(meta.find(), "no Content-Security-Policy meta");
    String policy = meta.group(1);
    assertTrue(
        policy.startsWith("default-src 'none'; script-src 'unsafe-inline' 'sha256-"), policy);
    assertTrue(policy.contains("; style-src 'unsafe-inline'; img-src data:;"), policy);

    List<String> hashes = new ArrayList<>();
    Matcher script = Pattern.compile("<script>(.*?)</script>", Pattern.DOTALL).matcher(page);
    while (script.find()) {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest(script.group(1).getBytes(StandardCharsets.UTF_8));
      hashes.add("'sha256-" + Base64.getEncoder().encodeToString(digest) + "'");
    }
    assertEquals(2, hashes.size(), "ECharts and the page's script");
    for (String hash : hashes) {
      assertTrue(policy.contains(hash), () -> "the policy does not allow " + hash);
    }
    assertFalse(page.contains("<script src"), "a script from elsewhere");
    assertFalse(page.contains("<link"), "a linked resource");
  }

  @Test
  void pageInlinesTheEchartsOfTheWebjarTheBuildNames() throws Exception {
    String page = page(SampleReport.report());

    assertTrue(page.contains("echarts"), "ECharts is not inlined");
    assertTrue(page.length() > 900_000, "the page is too small to hold ECharts: " + page.length());
  }

  @Test
  void aDocumentOfAnotherSchemaIsRefused() {
    ObjectNode other = JSON.createObjectNode().put("schema", "something-else/2");

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> page(other));
    assertTrue(e.getMessage().contains(HtmlReport.SCHEMA), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> page(JSON.createObjectNode()));
  }

  private static String page(JsonNode report) throws IOException {
    StringWriter out = new StringWriter();
    HtmlReport.write(report, out);
    return out.toString();
  }

  private static int count(String haystack, String needle) {
    int n = 0;
    for (int i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }
}
