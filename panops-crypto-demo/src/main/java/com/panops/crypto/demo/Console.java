package com.panops.crypto.demo;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * The walkthrough's output: numbered steps, aligned label/value lines, durations and sizes with
 * units. Plain ASCII (the console's encoding is unknown). Thread-safe: every call prints whole
 * lines, so the revocation listener can print from the probe thread.
 */
final class Console {
  private static final int LABEL_WIDTH = 48;

  private final PrintStream out;
  private final long startNanos = System.nanoTime();

  Console(PrintStream out) {
    this.out = out;
  }

  /** Seconds since the walkthrough started, e.g. {@code +12.34 s}. */
  String clock() {
    return String.format(Locale.ROOT, "+%.2f s", (System.nanoTime() - startNanos) / 1e9);
  }

  void title(String text) {
    out.println(text);
    out.println("=".repeat(text.length()));
  }

  void step(int n, String title) {
    out.println();
    String head = n + ". " + title;
    String c = "[" + clock() + "]";
    int pad = Math.max(2, 92 - head.length() - c.length());
    out.println(head + " ".repeat(pad) + c);
    out.println("-".repeat(head.length()));
  }

  void line(String text) {
    out.println("   " + text);
  }

  void blank() {
    out.println();
  }

  /** {@code label ........ value}, values aligned. */
  void kv(String label, String value) {
    if (label.isEmpty()) {
      out.println(" ".repeat(LABEL_WIDTH + 1) + value); // a continuation line
      return;
    }
    StringBuilder b = new StringBuilder("   ").append(label).append(' ');
    while (b.length() < LABEL_WIDTH) {
      b.append('.');
    }
    out.println(b.append(' ').append(value));
  }

  void raw(String text) {
    out.println(text);
  }

  static String ms(long nanos) {
    return ms(Duration.ofNanos(nanos));
  }

  /** {@code 0.62 s} or {@code 14 ms} or {@code 0.3 ms}. */
  static String ms(Duration d) {
    long n = d.toNanos();
    if (n >= 1_000_000_000L) {
      return String.format(Locale.ROOT, "%.2f s", n / 1e9);
    }
    if (n >= 10_000_000L) {
      return String.format(Locale.ROOT, "%d ms", Math.round(n / 1e6));
    }
    return String.format(Locale.ROOT, "%.1f ms", n / 1e6);
  }

  static String since(long startNanos) {
    return ms(System.nanoTime() - startNanos);
  }

  static String bytes(long n) {
    if (n >= 1024L * 1024) {
      return String.format(Locale.ROOT, "%.1f MiB", n / (1024.0 * 1024));
    }
    if (n >= 1024) {
      return String.format(Locale.ROOT, "%.1f KiB", n / 1024.0);
    }
    return n + " B";
  }

  static String count(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  static String plural(long n, String one, String many) {
    return count(n) + " " + (n == 1 ? one : many);
  }
}
