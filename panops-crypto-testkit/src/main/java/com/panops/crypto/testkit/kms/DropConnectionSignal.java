package com.panops.crypto.testkit.kms;

/** Thrown inside LocalKms to make the HTTP layer close the connection without any response. */
public final class DropConnectionSignal extends RuntimeException {
  private static final long serialVersionUID = 1L;

  DropConnectionSignal() {
    super("fault injected: drop connection", null, false, false);
  }
}
