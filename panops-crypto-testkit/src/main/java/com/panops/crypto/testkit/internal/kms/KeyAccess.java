package com.panops.crypto.testkit.internal.kms;

import com.panops.crypto.testkit.LocalKmsException;
import com.panops.crypto.testkit.Principal;
import java.util.Map;

/**
 * Who may do what to a key, and whether its state allows it: the key policy first (an explicit deny
 * always wins), then the key's grants, which allow what the policy does not deny explicitly; then
 * the key state. Refusals are KMS's errors with KMS's messages.
 */
final class KeyAccess {

  private KeyAccess() {}

  /** Key management: the key's latest policy decides. */
  static void requireAllowed(Principal caller, KeyRecord key, String action) {
    requireAllowed(caller, key, key.current(), action);
  }

  static void requireAllowed(Principal caller, KeyRecord key, KeyView view, String action) {
    requireAllowed(caller, key, view, action, Map.of());
  }

  /** A data-plane request: the policy of the view it sees decides, for its encryption context. */
  static void requireAllowed(
      Principal caller, KeyRecord key, KeyView view, String action, Map<String, String> context) {
    KeyPolicy.Decision d = view.policy().evaluate(caller.arn(), action, context);
    if (d == KeyPolicy.Decision.ALLOW) {
      return;
    }
    if (d == KeyPolicy.Decision.IMPLICIT_DENY) {
      for (Grant g : key.grants) { // a grant allows what the policy does not deny explicitly
        if (g.allows(caller, action)) {
          return;
        }
      }
    }
    String why =
        d == KeyPolicy.Decision.EXPLICIT_DENY
            ? "with an explicit deny in a resource-based policy"
            : "because no resource-based policy allows the " + action + " action";
    throw accessDenied(caller, action, key.arn + " " + why);
  }

  /**
   * Account-level operations (CreateKey, ListKeys): LocalKms has no IAM, so any principal of the
   * key account may call them and principals of other accounts may not.
   */
  static void requireAccountPrincipal(Principal caller, String accountId, String action) {
    if (!accountId.equals(KeyPolicy.accountOf(caller.arn()))) {
      throw accessDenied(
          caller, action, "* because no identity-based policy allows the " + action + " action");
    }
  }

  /** KMS's refusal of {@code action} to {@code caller}; {@code resource} says on what and why. */
  private static LocalKmsException accessDenied(Principal caller, String action, String resource) {
    return LocalKmsException.of(
        "AccessDeniedException",
        "User: "
            + caller.arn()
            + " is not authorized to perform: "
            + action
            + " on resource: "
            + resource);
  }

  /** Cryptographic operations need a key the request sees as Enabled. */
  static void requireUsable(KeyRecord key, KeyView view) {
    if (view.state() == KeyState.Disabled) {
      throw LocalKmsException.of("DisabledException", key.arn + " is disabled.");
    }
    if (view.state() == KeyState.PendingDeletion) {
      throw LocalKmsException.of("KMSInvalidStateException", key.arn + " is pending deletion.");
    }
    if (view.state() == KeyState.PendingImport) {
      throw LocalKmsException.of("KMSInvalidStateException", key.arn + " is pending import.");
    }
    if (view.state() == KeyState.Unavailable) {
      throw LocalKmsException.of("KMSInvalidStateException", key.arn + " is unavailable.");
    }
  }

  static void requireNotPendingDeletion(KeyRecord key) {
    if (key.state == KeyState.PendingDeletion) {
      throw LocalKmsException.of("KMSInvalidStateException", key.arn + " is pending deletion.");
    }
  }
}
