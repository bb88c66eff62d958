package com.panops.crypto.testkit.internal.kms;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One operator of a key policy statement's {@code Condition} applied to one condition key with its
 * values (ORed). See {@link KeyPolicy} for the operators and keys LocalKms supports.
 */
final class Condition {

  private static final Set<String> OPERATORS =
      Set.of("StringEquals", "StringNotEquals", "StringLike", "StringNotLike");
  private static final String CONTEXT_KEY = "kms:EncryptionContext:";

  private final String setOp;
  private final String operator;
  private final String key;
  private final List<String> values;

  private Condition(String setOp, String operator, String key, List<String> values) {
    this.setOp = setOp;
    this.operator = operator;
    this.key = key;
    this.values = values;
  }

  /**
   * The conditions of a statement's {@code Condition} element (null: none).
   *
   * @throws IllegalArgumentException for an operator or key LocalKms does not support
   */
  static List<Condition> parseAll(JsonNode condition) {
    List<Condition> conditions = new ArrayList<>();
    if (condition == null) {
      return conditions;
    }
    if (!condition.isObject() || condition.size() == 0) {
      throw new IllegalArgumentException("Condition must be a non-empty object.");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = condition.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> block = it.next();
      parseBlock(block.getKey(), block.getValue(), conditions);
    }
    return conditions;
  }

  /** One block, {@code "[ForAllValues:|ForAnyValue:]Operator": {key: value or [values]}}. */
  private static void parseBlock(String name, JsonNode block, List<Condition> into) {
    String op = name;
    String setOp = null;
    int colon = op.indexOf(':');
    if (colon >= 0) {
      setOp = op.substring(0, colon);
      op = op.substring(colon + 1);
      if (!setOp.equals("ForAllValues") && !setOp.equals("ForAnyValue")) {
        throw new IllegalArgumentException("Unsupported condition set operator: " + setOp);
      }
    }
    if (!OPERATORS.contains(op)) {
      throw new IllegalArgumentException("LocalKms does not support the condition operator " + op);
    }
    if (!block.isObject() || block.size() == 0) {
      throw new IllegalArgumentException("Condition " + name + " must be an object.");
    }
    for (Iterator<Map.Entry<String, JsonNode>> kv = block.fields(); kv.hasNext(); ) {
      Map.Entry<String, JsonNode> e = kv.next();
      String key = e.getKey();
      if (!isKnownKey(key)) {
        throw new IllegalArgumentException("LocalKms does not support the condition key " + key);
      }
      into.add(
          new Condition(setOp, op, key, KeyPolicy.stringOrArray(e.getValue(), "Condition value")));
    }
  }

  private static boolean isKnownKey(String key) {
    String lower = key.toLowerCase(Locale.ROOT);
    return lower.equals("aws:principalarn")
        || lower.equals("kms:calleraccount")
        || lower.equals("kms:encryptioncontextkeys")
        || (key.startsWith(CONTEXT_KEY) && key.length() > CONTEXT_KEY.length());
  }

  /**
   * Whether the condition holds for this caller and encryption context. A key the request lacks
   * does not match a positive operator and matches a negated one; {@code ForAllValues:} over no
   * values is true, {@code ForAnyValue:} false, as in IAM.
   */
  boolean holds(String principalArn, Map<String, String> context) {
    List<String> actual = actual(principalArn, context);
    boolean negated = operator.startsWith("StringNot");
    boolean like = operator.endsWith("Like");
    if (setOp == null) {
      if (actual == null || actual.isEmpty()) {
        return negated;
      }
      boolean any = false;
      for (String a : actual) {
        any |= matchesAny(a, like);
      }
      return negated ? !any : any;
    }
    List<String> vals = actual == null ? List.of() : actual;
    if (setOp.equals("ForAllValues")) {
      for (String a : vals) {
        boolean m = matchesAny(a, like);
        if (negated ? m : !m) {
          return false;
        }
      }
      return true;
    }
    for (String a : vals) { // ForAnyValue
      boolean m = matchesAny(a, like);
      if (negated ? !m : m) {
        return true;
      }
    }
    return false;
  }

  private boolean matchesAny(String actual, boolean like) {
    for (String v : values) {
      if (like ? KeyPolicy.glob(v, false).matcher(actual).matches() : v.equals(actual)) {
        return true;
      }
    }
    return false;
  }

  /** The request's values for this condition key; null if the request has none. */
  private List<String> actual(String principalArn, Map<String, String> context) {
    String k = key.toLowerCase(Locale.ROOT);
    if (k.equals("aws:principalarn")) {
      String role = KeyPolicy.roleOf(principalArn);
      return List.of(role != null ? role : principalArn);
    }
    if (k.equals("kms:calleraccount")) {
      return List.of(KeyPolicy.accountOf(principalArn));
    }
    if (k.equals("kms:encryptioncontextkeys")) {
      return List.copyOf(context.keySet());
    }
    String ctxKey = key.substring(CONTEXT_KEY.length());
    String v = context.get(ctxKey);
    return v == null ? null : List.of(v);
  }
}
