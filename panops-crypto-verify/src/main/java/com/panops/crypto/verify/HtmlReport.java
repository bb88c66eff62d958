package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.Writer;

/** Placeholder until the HTML report lands. */
final class HtmlReport {
  private HtmlReport() {}

  static void write(JsonNode report, Writer out) throws IOException {
    out.write("<!doctype html><title>panops-crypto-verify</title>");
  }
}
