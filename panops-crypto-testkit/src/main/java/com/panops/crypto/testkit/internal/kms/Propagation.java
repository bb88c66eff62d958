package com.panops.crypto.testkit.internal.kms;

import com.panops.crypto.testkit.LocalKmsException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;

/**
 * Eventual consistency after key changes: with a window, each key keeps the views (state, deletion
 * date, policy) its changes superseded until the window after each change has passed, and a
 * data-plane request sees one of the open views or the latest, uniformly at random per request.
 * Within the window after CreateKey, a request may also see the new key as not yet created and get
 * one of the configured new-key errors. Not thread-safe: used under the engine's lock.
 */
final class Propagation {

  private Duration window = Duration.ZERO;
  private Random choices = new Random(0);
  private List<String> newKeyErrors = List.of();

  /**
   * Sets the window for key changes made from now on (zero switches propagation off for later
   * changes; windows already open run to their end) and, unless null, the source of the per-request
   * choice between old and new views.
   */
  void configure(Duration window, Random choices) {
    Objects.requireNonNull(window, "window");
    if (window.isNegative()) {
      throw new IllegalArgumentException("propagation window must not be negative");
    }
    this.window = window;
    if (choices != null) {
      this.choices = choices;
    }
  }

  /** Refuses any code but {@code NotFoundException} and {@code KMSInvalidStateException}. */
  static void checkNewKeyErrors(List<String> errorCodes) {
    for (String c : errorCodes) {
      if (!c.equals("NotFoundException") && !c.equals("KMSInvalidStateException")) {
        throw new IllegalArgumentException(
            "new-key errors are NotFoundException or KMSInvalidStateException, not " + c);
      }
    }
  }

  void newKeyErrors(List<String> errorCodes) {
    this.newKeyErrors = List.copyOf(errorCodes);
  }

  /** Call before changing a key's state or policy: requests may see the old view for a while. */
  void superseding(KeyRecord k, Instant now) {
    if (!window.isZero()) {
      k.superseded.add(new KeyRecord.Superseded(k.current(), now.plus(window)));
    }
  }

  /** Call on a new key: with new-key errors on, requests may see it as not yet created. */
  void created(KeyRecord k) {
    if (!window.isZero() && !newKeyErrors.isEmpty()) {
      k.superseded.add(new KeyRecord.Superseded(KeyView.NOT_YET_CREATED, k.created.plus(window)));
    }
  }

  /**
   * The view a data-plane request gets of the key: the latest one, or, while propagation windows
   * are open, one of the latest and the still-propagating earlier views, chosen uniformly at random
   * per request. Throws the configured new-key error if it picked "not yet created".
   */
  KeyView seen(KeyRecord k, Instant now) {
    k.superseded.removeIf(s -> !now.isBefore(s.until()));
    KeyView v;
    if (k.superseded.isEmpty()) {
      v = k.current();
    } else {
      int n = choices.nextInt(k.superseded.size() + 1);
      v = n == k.superseded.size() ? k.current() : k.superseded.get(n).view();
    }
    if (!v.created()) {
      throw notYetCreated(k);
    }
    return v;
  }

  private LocalKmsException notYetCreated(KeyRecord k) {
    List<String> errors = newKeyErrors.isEmpty() ? List.of("NotFoundException") : newKeyErrors;
    String code = errors.size() == 1 ? errors.get(0) : errors.get(choices.nextInt(errors.size()));
    if (code.equals("KMSInvalidStateException")) {
      return LocalKmsException.of(
          "KMSInvalidStateException", k.arn + " is not yet available (it is being created).");
    }
    return LocalKmsException.of("NotFoundException", "Key '" + k.arn + "' does not exist");
  }

  /** When the key's last open window ends; empty if every request already sees its latest state. */
  static Optional<Instant> settlesAt(KeyRecord k, Instant now) {
    k.superseded.removeIf(s -> !now.isBefore(s.until()));
    return k.superseded.stream().map(KeyRecord.Superseded::until).max(Instant::compareTo);
  }
}
