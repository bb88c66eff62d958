package com.panops.crypto.benchmarks.report;

/** Markdown being written: headings, paragraphs, table rows. */
final class Markdown {
  private final StringBuilder out = new StringBuilder();

  void line(String s) {
    out.append(s).append('\n');
  }

  void line() {
    out.append('\n');
  }

  /** A second-level heading and the blank line after it. */
  void heading(String title) {
    line("## " + title);
    line();
  }

  /** A paragraph (one line) and the blank line after it. */
  void paragraph(String text) {
    line(text);
    line();
  }

  /** The header row of a table and its alignment row. */
  void tableHeader(String header, String alignment) {
    line(header);
    line(alignment);
  }

  /** A row of a two-column table; a {@code |} in the value is escaped. */
  void kv(String k, String v) {
    line("| " + k + " | " + v.replace("|", "\\|") + " |");
  }

  void append(CharSequence s) {
    out.append(s);
  }

  @Override
  public String toString() {
    return out.toString();
  }
}
