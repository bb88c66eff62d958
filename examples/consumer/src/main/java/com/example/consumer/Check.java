package com.example.consumer;

/** A named check: counted when it holds; the first that does not fails the run (non-zero exit). */
final class Check {
  static int passed;

  private Check() {}

  static void check(boolean holds, String what) {
    if (!holds) {
      throw new AssertionError("FAILED: " + what);
    }
    passed++;
    System.out.println("ok   " + what);
  }
}
