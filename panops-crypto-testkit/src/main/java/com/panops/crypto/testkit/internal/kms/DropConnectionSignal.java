package com.panops.crypto.testkit.internal.kms;

/** Thrown inside LocalKms to make the HTTP layer close the connection without any response. */
final class DropConnectionSignal extends RuntimeException {
  private static final long serialVersionUID = 1L;

  DropConnectionSignal() {
    super("fault injected: drop connection", null, false, false);
  }
}
