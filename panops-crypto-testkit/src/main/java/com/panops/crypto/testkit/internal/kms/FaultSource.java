package com.panops.crypto.testkit.internal.kms;

/** Decides which fault, if any, applies to a wire request. */
@FunctionalInterface
public interface FaultSource {
  /**
   * @param operation the KMS operation, e.g. {@code Decrypt}
   * @param keyArn the key ARN the request concerns, or null if it names none
   */
  FaultDecision decide(String operation, String keyArn);
}
