package com.panops.crypto.verify;

import com.panops.crypto.verify.KeyPolicyView.Access;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One KMS key as the trail shows it: its state (enabled, disabled, pending deletion, deleted), its
 * policy and grants as far as the trail says, the customer's changes, and a {@link PrincipalTrack}
 * per vendor principal. A principal has access while the key is usable and the policy (assumed to
 * allow it until the trail shows a policy) or one of its grants lets it decrypt; a change that
 * takes access away is a cut for that principal, one that gives it back a restore. A change whose
 * effect on a vendor the trail cannot tell (a conditional Deny, an unreadable policy, a revoked
 * grant the trail never showed created) is reported as undetermined, which makes the input
 * incomplete rather than the answer wrong.
 */
final class KeyTrack {
  static final int MAX_CHANGES_LISTED = 10_000;

  /** One of the customer's changes to the key, and what it did to the vendor's access. */
  record Change(Instant at, String eventName, String by, String errorCode, String effect) {}

  private record Grant(String grantee, List<String> operations) {}

  /** A change whose effect could not be told, kept until a vendor principal uses the key. */
  private record Pending(KmsRecord record, String why) {}

  final String keyArn;
  final List<Change> changes = new ArrayList<>();
  long changeCount;
  final Map<String, PrincipalTrack> principals = new LinkedHashMap<>();
  private final InputStats stats;
  private final Map<String, String> accounts = new HashMap<>();
  private final Map<String, Grant> grants = new HashMap<>();
  private boolean disabled;
  private boolean pendingDeletion;
  private boolean deleted;
  private boolean pendingImport;
  private final List<Pending> pending = new ArrayList<>();
  private Instant unusableSince;
  private String unusableBy;
  private int unusableChange = -1;
  private KeyPolicyView policy;
  private Instant policySince;
  private String policyBy;
  private int policyChange = -1;

  KeyTrack(String keyArn, InputStats stats) {
    this.keyArn = keyArn;
    this.stats = stats;
  }

  /** The account that owns the key (from its ARN), or null. */
  String account() {
    String[] parts = keyArn.split(":", 6);
    return parts.length == 6 ? parts[4] : null;
  }

  void call(KmsRecord r, String principal, String account, boolean probe, Duration window) {
    PrincipalTrack t = track(principal, account);
    t.call(r, probe, window, allows(principal, account, r.eventName()));
  }

  /** The principal's track; a principal first seen while cut off starts with that cut open. */
  PrincipalTrack track(String principal, String account) {
    PrincipalTrack t = principals.get(principal);
    if (t == null) {
      t = new PrincipalTrack(principal);
      principals.put(principal, t);
      accounts.put(principal, account);
      if (!usable()) {
        t.cut(unusableSince, unusableBy);
        markCut(unusableChange);
      } else if (!access(principal, account)) {
        t.cut(policySince, policyBy);
        markCut(policyChange);
      }
      if (policy != null && policy.access(principal, account) == Access.CONDITIONAL) {
        stats.undetermined(
            keyArn,
            policyBy
                + " at "
                + policySince
                + ": a Condition (not evaluated) decides whether "
                + principal
                + " may decrypt");
      }
      pending.forEach(p -> stats.undetermined(p.record(), p.why()));
      pending.clear();
    }
    return t;
  }

  /** The change that cut a principal first seen after it is a cut (it was recorded before). */
  private void markCut(int index) {
    if (index >= 0 && index < changes.size() && changes.get(index).effect().equals("none")) {
      Change c = changes.get(index);
      changes.set(index, new Change(c.at(), c.eventName(), c.by(), c.errorCode(), "cut"));
    }
  }

  void change(KmsRecord r) {
    if (r.failed()) {
      record(new Change(r.eventTime(), r.eventName(), r.principal(), r.errorCode(), "none"));
      return;
    }
    Map<String, Boolean> before = new HashMap<>();
    principals.keySet().forEach(p -> before.put(p, access(p, accounts.get(p))));
    boolean wasUsable = usable();
    int index = changes.size();
    apply(r, index);
    if (wasUsable && !usable()) {
      unusableSince = r.eventTime();
      unusableBy = r.eventName();
      unusableChange = index;
    }
    String effect = "none";
    for (PrincipalTrack t : principals.values()) {
      boolean now = access(t.principal, accounts.get(t.principal));
      boolean then = before.get(t.principal);
      if (then && !now) {
        t.cut(r.eventTime(), r.eventName());
        effect = "cut";
      } else if (!then && now) {
        t.restore(r.eventTime(), r.eventName());
        effect = effect.equals("cut") ? "cut" : "restore";
      }
    }
    record(new Change(r.eventTime(), r.eventName(), r.principal(), null, effect));
  }

  private void record(Change c) {
    changeCount++;
    if (changes.size() < MAX_CHANGES_LISTED) {
      changes.add(c);
    }
  }

  private void apply(KmsRecord r, int index) {
    switch (r.eventName()) {
      case "DisableKey" -> disabled = true;
      case "EnableKey" -> disabled = false;
      case "ScheduleKeyDeletion" -> pendingDeletion = true;
      case "CancelKeyDeletion" -> {
        pendingDeletion = false;
        disabled = true; // as in KMS: a key whose deletion is cancelled is Disabled
      }
      case "DeleteKey" -> deleted = true;
      case "DeleteImportedKeyMaterial", "DeleteExpiredKeyMaterial" -> pendingImport = true;
      case "ImportKeyMaterial" -> pendingImport = false;
      case "PutKeyPolicy", "CreateKey" -> policy(r, index);
      case "CreateGrant" -> {
        if (r.grantId() != null && r.granteePrincipal() != null) {
          grants.put(r.grantId(), new Grant(r.granteePrincipal(), r.grantOperations()));
        }
      }
      case "RevokeGrant", "RetireGrant" -> grantEnd(r);
      default -> {}
    }
  }

  private void policy(KmsRecord r, int index) {
    String document = r.policy();
    if (document == null && r.eventName().equals("CreateKey")) {
      // KMS's default key policy: the key's own account only
      document =
          "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
              + account()
              + "\"},\"Action\":\"kms:*\"}]}";
    }
    KeyPolicyView p = KeyPolicyView.parse(document);
    if (p == null) {
      undeterminedIfUsed(
          r, "the policy document cannot be read; the vendor's access after it is unknown");
      return;
    }
    policy = p;
    policySince = r.eventTime();
    policyBy = r.eventName();
    policyChange = index;
    for (Map.Entry<String, String> e : accounts.entrySet()) {
      if (p.access(e.getKey(), e.getValue()) == Access.CONDITIONAL) {
        stats.undetermined(
            r, "a Condition (not evaluated) decides whether " + e.getKey() + " may decrypt");
      }
    }
  }

  private void grantEnd(KmsRecord r) {
    Grant g = r.grantId() == null ? null : grants.remove(r.grantId());
    if (g == null) {
      undeterminedIfUsed(
          r,
          "a grant the trail does not show created ended: if it was the vendor's, that may be a cut");
    } else if (policy == null
        && g.operations().contains("Decrypt")
        && principals.containsKey(g.grantee())) {
      stats.undetermined(r, "the vendor's grant ended and the key policy is not in the trail");
    }
  }

  /** Reported now if a vendor uses the key, else once one does (never if none ever does). */
  private void undeterminedIfUsed(KmsRecord r, String why) {
    if (!principals.isEmpty()) {
      stats.undetermined(r, why);
    } else if (pending.size() < 100) {
      pending.add(new Pending(r, why));
    }
  }

  boolean usable() {
    return !disabled && !pendingDeletion && !deleted && !pendingImport;
  }

  /** Whether the principal may decrypt with the key: what a cut takes away. */
  boolean access(String principal, String account) {
    return allows(principal, account, "Decrypt");
  }

  /**
   * Whether the principal may call {@code operation} with the key: the key is usable, no
   * unconditional Deny applies, and the policy (assumed allowing until the trail shows one) or a
   * grant to the principal or its account allows it.
   */
  boolean allows(String principal, String account, String operation) {
    if (!usable()) {
      return false;
    }
    Access a = policy == null ? Access.ALLOWED : policy.access(principal, account, operation);
    if (a == Access.DENIED) {
      return false; // an explicit Deny overrides every grant
    }
    if (a != Access.NOT_ALLOWED) {
      return true;
    }
    for (Grant g : grants.values()) {
      if (KeyPolicyView.names(List.of(g.grantee()), principal, account)
          && (g.operations().contains(operation) || grantsAsAnOperation(g, operation))) {
        return true;
      }
    }
    return false;
  }

  /** GenerateDataKeyWithoutPlaintext and the pair operations are granted by name in KMS. */
  private static boolean grantsAsAnOperation(Grant g, String operation) {
    return operation.startsWith("ReEncrypt")
        && (g.operations().contains("ReEncryptFrom") || g.operations().contains("ReEncryptTo"));
  }
}
