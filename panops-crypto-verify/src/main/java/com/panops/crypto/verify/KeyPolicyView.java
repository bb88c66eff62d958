package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a key policy says about one principal's {@code kms:Decrypt}, read from the policy document a
 * PutKeyPolicy (or CreateKey) record carries. It answers "does some Allow statement name this
 * principal (its role ARN, its account's root, its account id, or {@code *}) for an action that
 * covers {@code kms:Decrypt}, with no unconditional Deny that names it?". Conditions on an Allow
 * are not evaluated: such a statement counts as allowing, so the verifier never reports the vendor
 * cut off, or a violation, on the strength of a condition it cannot evaluate. IAM policies in the
 * vendor's own account are not in the customer's trail and are not considered.
 */
final class KeyPolicyView {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private record Statement(
      boolean allow, List<String> principals, List<String> actions, boolean conditional) {}

  private final List<Statement> statements;

  private KeyPolicyView(List<Statement> statements) {
    this.statements = statements;
  }

  /** The policy, or null if the document cannot be read (then the verifier keeps what it knew). */
  static KeyPolicyView parse(String document) {
    if (document == null) {
      return null;
    }
    try {
      JsonNode root = MAPPER.readTree(document);
      JsonNode st = root == null ? null : root.get("Statement");
      if (st == null) {
        return null;
      }
      List<Statement> out = new ArrayList<>();
      for (JsonNode s : st.isArray() ? st : List.of(st)) {
        out.add(
            new Statement(
                "Allow".equals(s.path("Effect").asText()),
                principals(s.get("Principal")),
                strings(s.get("Action")),
                s.hasNonNull("Condition")));
      }
      return new KeyPolicyView(out);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** Whether this policy lets {@code principal} (of {@code account}) call kms:Decrypt. */
  boolean allowsDecrypt(String principal, String account) {
    boolean allowed = false;
    for (Statement s : statements) {
      if (!names(s.principals(), principal, account) || !coversDecrypt(s.actions())) {
        continue;
      }
      if (!s.allow() && !s.conditional()) {
        return false;
      }
      allowed |= s.allow();
    }
    return allowed;
  }

  private static boolean names(List<String> principals, String principal, String account) {
    for (String p : principals) {
      if (p.equals("*") || p.equals(principal)) {
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
