package com.panops.crypto.verify;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.Writer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;
import java.util.Properties;

/**
 * The self-contained HTML report: one HTML5 page that draws the JSON report (schema {@value
 * #SCHEMA}) with a header, the summary figures, the input counts, one section per key with its
 * cuts, violations and timeline chart, and the reconciliation if there is one.
 *
 * <p>The page needs nothing from the network: Apache ECharts (from its webjar), the page's script
 * ({@code report.js}) and style ({@code report.css}) are inlined, and a Content-Security-Policy
 * forbids every fetch. The report is embedded as JSON in a {@code <script type="application/json">}
 * element with {@code <}, {@code >}, {@code &}, U+2028 and U+2029 escaped, so that no string of the
 * trail can end that element or start markup; the page's script puts every value on the page as
 * text, an attribute value or a chart option, never as markup.
 */
final class HtmlReport {
  /** The schema of the JSON report this page draws. */
  static final String SCHEMA = "panops-crypto-verify/1";

  private static final String ECHARTS_PROPERTIES = "echarts.properties";
  private static final String ECHARTS_PATH =
      "META-INF/resources/webjars/echarts/%s/dist/echarts.min.js";
  private static final ObjectMapper JSON = new ObjectMapper();

  private HtmlReport() {}

  /**
   * Writes the page for {@code report} to {@code out}, which the caller closes. The page is UTF-8
   * (it says so in a {@code <meta charset>}): {@code out} must encode UTF-8.
   *
   * @throws IllegalArgumentException if {@code report} is not of schema {@value #SCHEMA}
   * @throws IllegalStateException if a resource of the page is missing from the class path
   * @throws IOException if {@code out} fails
   */
  static void write(JsonNode report, Writer out) throws IOException {
    if (report == null || !SCHEMA.equals(report.path("schema").asText(null))) {
      throw new IllegalArgumentException("not a report of schema " + SCHEMA);
    }
    String echarts = inlineScript(echarts(), "ECharts");
    String script = inlineScript(resource("report.js"), "report.js");
    String style = resource("report.css");
    if (style.toLowerCase(Locale.ROOT).contains("</style")) {
      throw new IllegalStateException("report.css would end its <style> element");
    }
    out.write("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.write("<meta http-equiv=\"Content-Security-Policy\" content=\"");
    out.write(contentSecurityPolicy(echarts, script));
    out.write("\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.write("<meta name=\"generator\" content=\"panops-crypto-verify\">\n");
    out.write("<title>KMS kill switch report</title>\n<style>\n");
    out.write(style);
    out.write("</style>\n</head>\n<body>\n<main id=\"report\">\n<noscript><p>This report draws");
    out.write(" itself with JavaScript, which is off: the same figures are in the JSON report.");
    out.write("</p></noscript>\n</main>\n<script type=\"application/json\" id=\"report-data\">");
    out.write(embeddedJson(report));
    out.write("</script>\n<script>");
    out.write(echarts);
    out.write("</script>\n<script>");
    out.write(script);
    out.write("</script>\n</body>\n</html>\n");
    out.flush();
  }

  /**
   * The report as JSON that is safe as the content of a {@code <script>} element: {@code <}, {@code
   * >}, {@code &}, U+2028 and U+2029 are written as JSON's six-character escapes (backslash, {@code
   * u}, four hex digits). Those characters occur in JSON only inside strings, where the escapes
   * mean the same characters, so the document parses to the same value.
   */
  static String embeddedJson(JsonNode report) throws JsonProcessingException {
    String json = JSON.writeValueAsString(report);
    StringBuilder safe = new StringBuilder(json.length() + 64);
    for (int i = 0; i < json.length(); i++) {
      char c = json.charAt(i);
      switch (c) {
        case '<' -> safe.append("\\u003c");
        case '>' -> safe.append("\\u003e");
        case '&' -> safe.append("\\u0026");
        case '\u2028' -> safe.append("\\u2028");
        case '\u2029' -> safe.append("\\u2029");
        default -> safe.append(c);
      }
    }
    return safe.toString();
  }

  /**
   * The page's policy: no fetch of any kind; only the page's own two scripts run (by their SHA-256;
   * {@code 'unsafe-inline'} is there for a browser without hashes, which modern browsers ignore
   * when hashes are given); styles inline; images only as {@code data:}.
   */
  static String contentSecurityPolicy(String... scripts) {
    StringBuilder policy = new StringBuilder("default-src 'none'; script-src 'unsafe-inline'");
    for (String s : scripts) {
      policy.append(" 'sha256-").append(sha256(s)).append('\'');
    }
    return policy
        .append("; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'")
        .toString();
  }

  private static String sha256(String script) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(script.getBytes(UTF_8));
      return Base64.getEncoder().encodeToString(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

  /** Refuses a script that would end its element early or enter the HTML parser's escaped state. */
  private static String inlineScript(String source, String name) {
    String lower = source.toLowerCase(Locale.ROOT);
    if (lower.contains("</script") || lower.contains("<!--")) {
      throw new IllegalStateException(name + " cannot be inlined in a <script> element");
    }
    return source;
  }

  /** The minified ECharts of the webjar whose version the build wrote to echarts.properties. */
  private static String echarts() throws IOException {
    Properties properties = new Properties();
    try (InputStream in = open(HtmlReport.class.getResourceAsStream(ECHARTS_PROPERTIES))) {
      properties.load(in);
    }
    String version = properties.getProperty("version", "");
    if (!version.matches("[0-9][0-9A-Za-z.+-]*")) {
      throw new IllegalStateException(ECHARTS_PROPERTIES + " names no ECharts version");
    }
    String path = String.format(Locale.ROOT, ECHARTS_PATH, version);
    ClassLoader loader = HtmlReport.class.getClassLoader();
    InputStream in = loader == null ? null : loader.getResourceAsStream(path);
    if (in == null) {
      throw new IllegalStateException(
          path + " is not on the class path (the org.webjars.npm:echarts jar)");
    }
    try (in) {
      return new String(in.readAllBytes(), UTF_8);
    }
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = open(HtmlReport.class.getResourceAsStream(name))) {
      return new String(in.readAllBytes(), UTF_8);
    }
  }

  private static InputStream open(InputStream in) {
    if (in == null) {
      throw new IllegalStateException("a resource of the HTML report is missing from the jar");
    }
    return in;
  }
}
