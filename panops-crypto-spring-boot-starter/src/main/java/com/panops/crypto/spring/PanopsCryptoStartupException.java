package com.panops.crypto.spring;

/**
 * A configuration that panops-crypto refuses to start with: what is wrong, and what to do about it
 * (usually the property to set or the dependency to add). {@link PanopsCryptoFailureAnalyzer} gives
 * Spring Boot's one-paragraph "APPLICATION FAILED TO START" report from it; the message holds both
 * parts, for logs and other launchers. Never carries a secret.
 */
final class PanopsCryptoStartupException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  private final String description;
  private final String action;

  PanopsCryptoStartupException(String description, String action, Throwable cause) {
    super(description + " Action: " + action, cause);
    this.description = description;
    this.action = action;
  }

  /** What is wrong. */
  String description() {
    return description;
  }

  /** What to do about it. */
  String action() {
    return action;
  }
}
