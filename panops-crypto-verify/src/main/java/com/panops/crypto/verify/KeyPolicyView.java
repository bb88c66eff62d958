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
    NOT_ALLOWED,
    /** Allowed, unless a Deny's condition (not evaluated) matches. */
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

    boolean coversDecrypt() {
      if (!notActions.isEmpty()) {
        return !KeyPolicyView.coversDecrypt(notActions);
      }
      return KeyPolicyView.coversDecrypt(actions);
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
    boolean allowed = false;
    boolean conditionalDeny = false;
    for (Statement s : statements) {
      if (!s.appliesTo(principal, account) || !s.coversDecrypt()) {
        continue;
      }
      if (!s.allow() && !s.conditional()) {
        return Access.NOT_ALLOWED;
      }
      conditionalDeny |= !s.allow();
      allowed |= s.allow();
    }
    if (!allowed) {
      return Access.NOT_ALLOWED;
    }
    return conditionalDeny ? Access.CONDITIONAL : Access.ALLOWED;
  }

  private static boolean names(List<String> principals, String principal, String account) {
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

  private static boolean coversDecrypt(List<String> actions) {
    for (String a : actions) {
      String x = a.toLowerCase(Locale.ROOT);
      if (x.equals("*") || x.equals("kms:*") || x.equals("kms:decrypt")) {
        return true;
      }
      if (x.endsWith("*") && "kms:decrypt".startsWith(x.substring(0, x.length() - 1))) {
        return true;
      }
    }
    return false;
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
