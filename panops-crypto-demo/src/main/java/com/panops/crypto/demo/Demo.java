package com.panops.crypto.demo;

/**
 * The README's first command: {@code ./mvnw -q -Pdemo -pl panops-crypto-demo -am package
 * -DskipTests} runs this. See {@link Walkthrough}. Exit status 0 when every expectation held, 1
 * when one did not (named in the output), 2 when the walkthrough could not run.
 */
public final class Demo {
  private Demo() {}

  public static void main(String[] args) {
    int status;
    try {
      Walkthrough.run(System.out);
      status = 0;
    } catch (DemoFailedException e) {
      System.out.println("DEMO FAILED: " + e.getMessage());
      status = 1;
    } catch (Exception e) {
      System.out.println();
      System.out.println("DEMO FAILED: the walkthrough could not run: " + e);
      e.printStackTrace();
      status = 2;
    }
    System.out.flush();
    System.exit(status);
  }
}
