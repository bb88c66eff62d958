package com.panops.crypto.demo;

import java.util.List;

/** The walkthrough ran, and at least one expectation did not hold. */
public final class DemoFailedException extends Exception {
  private static final long serialVersionUID = 1L;

  private final List<String> failedExpectations;

  DemoFailedException(List<String> failedExpectations) {
    super(message(failedExpectations));
    this.failedExpectations = List.copyOf(failedExpectations);
  }

  /** The expectations that did not hold, as printed. */
  public List<String> failedExpectations() {
    return failedExpectations;
  }

  private static String message(List<String> failed) {
    StringBuilder b =
        new StringBuilder()
            .append(failed.size())
            .append(failed.size() == 1 ? " expectation" : " expectations")
            .append(" failed:");
    for (String f : failed) {
      b.append("\n  - ").append(f);
    }
    return b.toString();
  }
}
