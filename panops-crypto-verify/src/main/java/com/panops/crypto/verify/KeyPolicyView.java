package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a key policy says about one principal's {@code kms:Decrypt}, read from the policy document a
 * PutKeyPolicy (or CreateKey) record carries. A statement applies to the principal when its {@code
 * Principal} names it (its role ARN, its account's root, its account id, or {@code *}) or its
 * {@code NotPrincipal} does not, and to Decrypt when its {@code Action} covers {@code kms:Decrypt}
 * (wildcards included) or its {@code NotAction} does not. An unconditional Deny that applies wins;
 * else an Allow that applies allows (an Allow's Condition is not evaluated: it counts as allowing,
 * so a condition can never make the verifier report a cut that did not happen). A Deny with a
 * Condition that applies makes the answer {@link Access#CONDITIONAL}: the report then says the
 * vendor's access after that change is undetermined. IAM policies in the vendor's own account are
 * not in the customer's trail and are not considered.
 */
final class KeyPolicyView {

  /** The policy's answer for one principal. */
  enum Access {
    ALLOWED,
    /** No statement allows it (a grant still may). */
    NOT_ALLOWED,
    /** An unconditional Deny applies: no grant can allow it. */
    DENIED,
    /** Allowed only under a condition, or unless a Deny's condition matches (not evaluated). */
    CONDITIONAL
  }

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private record Statement(
      boolean allow,
      List<String> principals,
      List<String> notPrincipals,
      List<String> actions,
      List<String> notActions,
      boolean conditional) {

    boolean appliesTo(String principal, String account) {
      if (!notPrincipals.isEmpty()) {
        return !names(notPrincipals, principal, account);
      }
      return names(principals, principal, account);
    }

    boolean covers(String action) {
      if (!notActions.isEmpty()) {
        return !KeyPolicyView.covers(notActions, action);
      }
      return KeyPolicyView.covers(actions, action);
    }
  }

  private final List<Statement> statements;

  private KeyPolicyView(List<Statement> statements) {
    this.statements = statements;
  }

  /** The policy, or null if the document cannot be read. */
  static KeyPolicyView parse(String document) {
    if (document == null) {
      return null;
    }
    try {
      JsonNode root = MAPPER.readTree(document);
      JsonNode st = root == null ? null : root.get("Statement");
      if (st == null || !(st.isArray() || st.isObject())) {
        return null;
      }
      List<Statement> out = new ArrayList<>();
      for (JsonNode s : st.isArray() ? st : List.of(st)) {
        out.add(
            new Statement(
                "Allow".equals(s.path("Effect").asText()),
                principals(s.get("Principal")),
                principals(s.get("NotPrincipal")),
                strings(s.get("Action")),
                strings(s.get("NotAction")),
                s.hasNonNull("Condition")));
      }
      return new KeyPolicyView(out);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** What this policy says of {@code principal}'s (of {@code account}) kms:Decrypt. */
  Access access(String principal, String account) {
    return access(principal, account, "Decrypt");
  }

  /** What this policy says of {@code principal}'s (of {@code account}) {@code kms:<operation>}. */
  Access access(String principal, String account, String operation) {
    String action = "kms:" + operation;
    boolean allowed = false;
    boolean unconditional = false;
    boolean conditionalDeny = false;
    for (Statement s : statements) {
      if (!s.appliesTo(principal, account) || !s.covers(action)) {
        continue;
      }
      if (!s.allow() && !s.conditional()) {
        return Access.DENIED;
      }
      conditionalDeny |= !s.allow();
      allowed |= s.allow();
      unconditional |= s.allow() && !s.conditional();
    }
    if (!allowed) {
      return Access.NOT_ALLOWED;
    }
    return conditionalDeny || !unconditional ? Access.CONDITIONAL : Access.ALLOWED;
  }

  /** Whether the list names the principal: its ARN, its account (root ARN or id), or {@code *}. */
  static boolean names(List<String> principals, String principal, String account) {
    for (String p : principals) {
      if (p.equals("*") || RecordFields.folded(p).equals(principal)) {
        return true;
      }
      if (account != null
          && (p.equals(account)
              || (p.startsWith("arn:aws") && p.endsWith(":iam::" + account + ":root")))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether one of the IAM action patterns ({@code *} and {@code ?} anywhere) matches {@code
   * action}.
   */
  static boolean covers(List<String> patterns, String action) {
    String a = action.toLowerCase(Locale.ROOT);
    for (String p : patterns) {
      if (glob(p.toLowerCase(Locale.ROOT), 0, a, 0)) {
        return true;
      }
    }
    return false;
  }

  /** IAM's wildcard match, iterative (no regular expression built from the trail). */
  private static boolean glob(String p, int pi, String s, int si) {
    int star = -1;
    int mark = 0;
    while (si < s.length()) {
      if (pi < p.length() && (p.charAt(pi) == '?' || p.charAt(pi) == s.charAt(si))) {
        pi++;
        si++;
      } else if (pi < p.length() && p.charAt(pi) == '*') {
        star = pi++;
        mark = si;
      } else if (star >= 0) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    }
    while (pi < p.length() && p.charAt(pi) == '*') {
      pi++;
    }
    return pi == p.length();
  }

  private static List<String> principals(JsonNode p) {
    if (p == null) {
      return List.of();
    }
    if (p.isTextual()) {
      return List.of(p.asText());
    }
    return strings(p.get("AWS"));
  }

  private static List<String> strings(JsonNode n) {
    List<String> out = new ArrayList<>();
    if (n == null) {
      return out;
    }
    if (n.isTextual()) {
      out.add(n.asText());
    }
    for (JsonNode e : n) {
      if (e.isTextual()) {
        out.add(e.asText());
      }
    }
    return out;
  }
}
