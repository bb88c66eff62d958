package com.panops.crypto.testkit;

import com.panops.crypto.testkit.internal.kms.FaultDecision;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Fault injection for LocalKms's wire requests (in-process customer actions are never faulted).
 * Thread-safe; faults can be switched on and off while clients are calling.
 *
 * <p>Every method takes an operation name (e.g. {@code "Decrypt"}; null matches every operation)
 * and a key (its ARN or its UUID; null matches every request, including those that name no key).
 * For Decrypt and ReEncrypt without a KeyId the key is the one the ciphertext names. A request
 * matching several faults gets the latency first (the longest matching delay), then the strongest
 * failure: a dropped connection over an internal error over a key-unavailable answer over a
 * dependency timeout over throttling. Faults apply after the caller has been authenticated.
 * Answered faults are recorded in the trail with their error codes ({@code ThrottlingException},
 * {@code DependencyTimeoutException}, {@code KeyUnavailableException}, {@code
 * KMSInternalException}); a connection dropped before the operation leaves no record at all, as a
 * request KMS never handled leaves none in CloudTrail.
 *
 * <p><b>Faults after the operation</b> ({@link #loseResponse}, {@link #loseResponses}, {@link
 * #latencyAfterCommit}): KMS did the work and the trail records its outcome (a success, say), but
 * the caller never gets the answer (the connection is closed without a response) or gets it late
 * (after its own timeout): the case where the customer's CloudTrail has a record the caller never
 * saw the answer to.
 */
public final class Faults {

  private enum Kind {
    LATENCY,
    THROTTLE,
    DEPENDENCY_TIMEOUT,
    KEY_UNAVAILABLE,
    INTERNAL_ERROR,
    DROP_CONNECTION,
    LATENCY_AFTER_COMMIT,
    LOSE_RESPONSE
  }

  /**
   * One fault; {@code remaining} counts down the matching requests a limited fault still applies to
   * (null: until cleared).
   */
  private record Rule(
      Kind kind,
      String operation,
      String key,
      Duration delay,
      java.util.concurrent.atomic.AtomicInteger remaining) {
    boolean matches(String op, String keyArn) {
      if (operation != null && !operation.equals(op)) {
        return false;
      }
      if (key == null) {
        return true;
      }
      return keyArn != null && (keyArn.equals(key) || keyArn.endsWith("/" + key));
    }
  }

  private final List<Rule> rules = new CopyOnWriteArrayList<>();
  private final Object lock = new Object();

  Faults() {}

  /**
   * Adds a delay before matching requests are answered; replaces an earlier delay for the same
   * operation and key. {@link Duration#ZERO} removes it.
   */
  public void latency(String operation, String keyArn, Duration delay) {
    Objects.requireNonNull(delay, "delay");
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay must not be negative");
    }
    rules.removeIf(
        r ->
            r.kind() == Kind.LATENCY
                && Objects.equals(r.operation(), operation)
                && Objects.equals(r.key(), keyArn));
    if (!delay.isZero()) {
      rules.add(new Rule(Kind.LATENCY, operation, keyArn, delay, null));
    }
  }

  /**
   * Adds a delay after matching requests have been handled and recorded, before the answer is
   * written: a client whose timeout is shorter gives up on a call KMS has done (a timeout after
   * commit). Replaces an earlier such delay for the same operation and key; {@link Duration#ZERO}
   * removes it.
   */
  public void latencyAfterCommit(String operation, String keyArn, Duration delay) {
    Objects.requireNonNull(delay, "delay");
    if (delay.isNegative()) {
      throw new IllegalArgumentException("delay must not be negative");
    }
    rules.removeIf(
        r ->
            r.kind() == Kind.LATENCY_AFTER_COMMIT
                && Objects.equals(r.operation(), operation)
                && Objects.equals(r.key(), keyArn));
    if (!delay.isZero()) {
      rules.add(new Rule(Kind.LATENCY_AFTER_COMMIT, operation, keyArn, delay, null));
    }
  }

  /**
   * Handles matching requests (the trail records their outcome) and then closes the connection
   * without writing the answer: the caller sees a reset connection with no response although KMS
   * did the work.
   */
  public void loseResponse(String operation, String keyArn) {
    add(Kind.LOSE_RESPONSE, operation, keyArn);
  }

  /**
   * As {@link #loseResponse}, for the next {@code count} matching requests only (then the fault is
   * gone): with the SDK's retries on, the first attempts' answers are lost and a later attempt gets
   * its answer.
   */
  public void loseResponses(String operation, String keyArn, int count) {
    if (count < 1) {
      throw new IllegalArgumentException("count must be at least 1");
    }
    rules.add(
        new Rule(
            Kind.LOSE_RESPONSE,
            operation,
            keyArn,
            Duration.ZERO,
            new java.util.concurrent.atomic.AtomicInteger(count)));
  }

  /** Answers matching requests with {@code ThrottlingException} (HTTP 400). */
  public void throttle(String operation, String keyArn) {
    add(Kind.THROTTLE, operation, keyArn);
  }

  /** Answers matching requests with {@code KMSInternalException} (HTTP 500). */
  public void internalError(String operation, String keyArn) {
    add(Kind.INTERNAL_ERROR, operation, keyArn);
  }

  /**
   * Answers matching requests with {@code KeyUnavailableException} (HTTP 500, as the SDK's model
   * has it): KMS could not use the key at the moment (e.g. its custom key store is disconnected).
   */
  public void keyUnavailable(String operation, String keyArn) {
    add(Kind.KEY_UNAVAILABLE, operation, keyArn);
  }

  /**
   * Answers matching requests with {@code DependencyTimeoutException} (HTTP 500, as the SDK's model
   * has it): a KMS-internal dependency timed out.
   */
  public void dependencyTimeout(String operation, String keyArn) {
    add(Kind.DEPENDENCY_TIMEOUT, operation, keyArn);
  }

  /**
   * Closes the connection of matching requests without writing any HTTP response, before the
   * operation: nothing is done and nothing is recorded in the trail.
   */
  public void dropConnection(String operation, String keyArn) {
    add(Kind.DROP_CONNECTION, operation, keyArn);
  }

  /** Switches every fault off. */
  public void clear() {
    rules.clear();
  }

  private void add(Kind kind, String operation, String keyArn) {
    Rule rule = new Rule(kind, operation, keyArn, Duration.ZERO, null);
    if (!rules.contains(rule)) {
      rules.add(rule);
    }
  }

  FaultDecision decide(String operation, String keyArn) {
    Duration delay = Duration.ZERO;
    Duration after = Duration.ZERO;
    boolean lose = false;
    FaultDecision.Action action = FaultDecision.Action.NONE;
    synchronized (lock) { // limited rules count down atomically with the decision
      for (Rule r : rules) {
        if (!r.matches(operation, keyArn)) {
          continue;
        }
        switch (r.kind()) {
          case LATENCY:
            if (r.delay().compareTo(delay) > 0) {
              delay = r.delay();
            }
            break;
          case LATENCY_AFTER_COMMIT:
            if (r.delay().compareTo(after) > 0) {
              after = r.delay();
            }
            break;
          case LOSE_RESPONSE:
            if (!lose && r.remaining() != null) {
              if (r.remaining().decrementAndGet() <= 0) {
                rules.remove(r);
              }
            }
            lose = true;
            break;
          default:
            FaultDecision.Action a = FaultDecision.Action.valueOf(r.kind().name());
            if (a.compareTo(action) > 0) {
              action = a;
            }
            break;
        }
      }
    }
    if (delay.isZero() && action == FaultDecision.Action.NONE && after.isZero() && !lose) {
      return FaultDecision.NONE;
    }
    return new FaultDecision(delay, action, after, lose);
  }
}
