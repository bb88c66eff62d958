package com.panops.crypto.demo;

import java.util.ArrayList;
import java.util.List;

/** The walkthrough's expectations: each is printed as it is checked; failures are collected. */
final class Checks {
  private final Console con;
  private final List<String> failed = new ArrayList<>();
  private int held;

  Checks(Console con) {
    this.con = con;
  }

  /** Records and prints one expectation; returns {@code ok}. */
  synchronized boolean expect(String what, boolean ok) {
    return expect(what, ok, null);
  }

  /** As {@link #expect(String, boolean)}, with what was measured. */
  synchronized boolean expect(String what, boolean ok, String measured) {
    String suffix = measured == null ? "" : " (" + measured + ")";
    if (ok) {
      held++;
      con.line("[ok]     " + what + suffix);
    } else {
      failed.add(what + suffix);
      con.line("[FAILED] " + what + suffix);
    }
    return ok;
  }

  synchronized int held() {
    return held;
  }

  synchronized List<String> failed() {
    return List.copyOf(failed);
  }
}
