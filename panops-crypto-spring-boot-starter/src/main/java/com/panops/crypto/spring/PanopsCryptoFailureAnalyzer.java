package com.panops.crypto.spring;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Spring Boot's "APPLICATION FAILED TO START" report for a configuration panops-crypto refuses (a
 * {@code DataSource} whose TLS does not verify the server, a missing region, a key KMS does not
 * know, ...): the description and the action, without the bean-creation chain around them.
 * Registered in {@code META-INF/spring.factories}.
 */
public final class PanopsCryptoFailureAnalyzer
    extends AbstractFailureAnalyzer<PanopsCryptoStartupException> {

  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, PanopsCryptoStartupException cause) {
    return new FailureAnalysis(cause.description(), cause.action(), cause);
  }
}
