package com.panops.crypto.testkit.internal.kms;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A parsed key policy in the AWS shape, and its evaluation for one principal and one action.
 *
 * <p>Supported: {@code Version}, {@code Id}, {@code Statement} (one object or an array); in a
 * statement {@code Sid}, {@code Effect} ({@code Allow}/{@code Deny}; an explicit Deny always wins),
 * {@code Principal} ({@code "*"} or {@code {"AWS": ARN or [ARN...]}}; other principal types such as
 * {@code Service} are accepted but match none of LocalKms's callers), {@code Action} (a string or
 * an array, {@code *} and {@code ?} wildcards, matched case-insensitively as IAM does) and {@code
 * Resource} (ignored: in a key policy it always means this key).
 *
 * <p>LocalKms has no IAM. An account principal ({@code arn:aws:iam::ACCOUNT:root} or the bare
 * 12-digit {@code ACCOUNT}) in a statement therefore matches every principal of that account, as if
 * the account's IAM policies granted the same. {@code NotAction}, {@code NotPrincipal} and {@code
 * NotResource} are not supported and make the policy malformed rather than being silently ignored.
 *
 * <p>{@code Condition}: operators {@code StringEquals}, {@code StringNotEquals}, {@code
 * StringLike}, {@code StringNotLike} ({@code *} and {@code ?} wildcards), each optionally prefixed
 * {@code ForAllValues:} or {@code ForAnyValue:}; keys {@code kms:EncryptionContext:<key>} (the
 * request's context value for that key), {@code kms:EncryptionContextKeys} (the set of its context
 * keys), {@code aws:PrincipalArn} (for an assumed-role session, the role's ARN, as in IAM), {@code
 * kms:CallerAccount}. A key the request lacks does not match a positive operator and matches a
 * negated one; {@code ForAllValues:} over no values is true, {@code ForAnyValue:} false, as in IAM.
 * Blocks, keys and values are ANDed / ORed as in IAM. Any other operator or key makes the policy
 * malformed (ignoring a condition on an Allow would grant too much). A conditional Deny denies only
 * when its condition holds.
 */
public final class KeyPolicy {

  /** The outcome of evaluating a policy. */
  public enum Decision {
    ALLOW,
    EXPLICIT_DENY,
    IMPLICIT_DENY
  }

  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final Set<String> TOP_LEVEL = Set.of("Version", "Id", "Statement");
  private static final Set<String> STATEMENT_KEYS =
      Set.of("Sid", "Effect", "Principal", "Action", "Resource", "Condition");
  private static final Set<String> UNSUPPORTED = Set.of("NotAction", "NotPrincipal", "NotResource");

  private record Statement(
      boolean allow,
      boolean anyPrincipal,
      List<String> principals,
      List<Pattern> actions,
      List<Condition> conditions) {}

  private final List<Statement> statements;

  private KeyPolicy(List<Statement> statements) {
    this.statements = List.copyOf(statements);
  }

  /**
   * Parses a policy document.
   *
   * @throws IllegalArgumentException with a message saying what is wrong if it is not a policy
   *     LocalKms can evaluate
   */
  public static KeyPolicy parse(String json) {
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("The policy is not valid JSON.");
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("The policy must be a JSON object.");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (!TOP_LEVEL.contains(name)) {
        throw new IllegalArgumentException("Unsupported policy element: " + name);
      }
    }
    JsonNode version = root.get("Version");
    if (version != null
        && !(version.isTextual()
            && (version.asText().equals("2012-10-17") || version.asText().equals("2008-10-17")))) {
      throw new IllegalArgumentException("Unsupported policy version.");
    }
    JsonNode st = root.get("Statement");
    if (st == null) {
      throw new IllegalArgumentException("The policy has no Statement.");
    }
    List<JsonNode> nodes = new ArrayList<>();
    if (st.isObject()) {
      nodes.add(st);
    } else if (st.isArray() && st.size() > 0) {
      st.forEach(nodes::add);
    } else {
      throw new IllegalArgumentException("Statement must be an object or a non-empty array.");
    }
    List<Statement> out = new ArrayList<>();
    for (JsonNode s : nodes) {
      out.add(parseStatement(s));
    }
    return new KeyPolicy(out);
  }

  private static Statement parseStatement(JsonNode s) {
    if (!s.isObject()) {
      throw new IllegalArgumentException("Each statement must be a JSON object.");
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
      String name = it.next().getKey();
      if (UNSUPPORTED.contains(name)) {
        throw new IllegalArgumentException("LocalKms does not support the policy element " + name);
      }
      if (!STATEMENT_KEYS.contains(name)) {
        throw new IllegalArgumentException("Unsupported statement element: " + name);
      }
    }
    JsonNode effect = s.get("Effect");
    if (effect == null
        || !effect.isTextual()
        || !(effect.asText().equals("Allow") || effect.asText().equals("Deny"))) {
      throw new IllegalArgumentException("Effect must be Allow or Deny.");
    }
    List<String> principals = new ArrayList<>();
    boolean any = parsePrincipal(s.get("Principal"), principals);
    List<Pattern> actions = parseActions(s.get("Action"));
    JsonNode resource = s.get("Resource");
    if (resource != null) {
      stringOrArray(resource, "Resource");
    }
    List<Condition> conditions = Condition.parseAll(s.get("Condition"));
    return new Statement(effect.asText().equals("Allow"), any, principals, actions, conditions);
  }

  /**
   * Adds the {@code AWS} principals the statement names to {@code into}; true if it names any
   * principal ({@code "*"}, or {@code "*"} among the {@code AWS} ones).
   */
  private static boolean parsePrincipal(JsonNode principal, List<String> into) {
    if (principal == null) {
      throw new IllegalArgumentException("A key policy statement must have a Principal.");
    }
    boolean any = false;
    if (principal.isTextual()) {
      if (!principal.asText().equals("*")) {
        throw new IllegalArgumentException("Principal must be \"*\" or an object.");
      }
      any = true;
    } else if (principal.isObject() && principal.size() > 0) {
      for (Iterator<Map.Entry<String, JsonNode>> it = principal.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        List<String> values = stringOrArray(e.getValue(), "Principal." + e.getKey());
        if (e.getKey().equals("AWS")) {
          for (String v : values) {
            if (v.equals("*")) {
              any = true;
            } else {
              into.add(v);
            }
          }
        }
      }
    } else {
      throw new IllegalArgumentException("Principal must be \"*\" or a non-empty object.");
    }
    return any;
  }

  private static List<Pattern> parseActions(JsonNode action) {
    if (action == null) {
      throw new IllegalArgumentException("A statement must have an Action.");
    }
    List<Pattern> actions = new ArrayList<>();
    for (String a : stringOrArray(action, "Action")) {
      actions.add(glob(a));
    }
    return actions;
  }

  /** A string or a non-empty array of strings, as a list. */
  static List<String> stringOrArray(JsonNode node, String what) {
    List<String> out = new ArrayList<>();
    if (node.isTextual()) {
      out.add(node.asText());
    } else if (node.isArray() && node.size() > 0) {
      for (JsonNode n : node) {
        if (!n.isTextual()) {
          throw new IllegalArgumentException(what + " must hold strings.");
        }
        out.add(n.asText());
      }
    } else {
      throw new IllegalArgumentException(what + " must be a string or a non-empty array.");
    }
    return out;
  }

  private static Pattern glob(String action) {
    return glob(action, true);
  }

  /**
   * The regular expression of an IAM wildcard pattern ({@code *} and {@code ?}): case-insensitive
   * for actions, exact (and across line breaks) for condition values.
   */
  static Pattern glob(String action, boolean ignoreCase) {
    StringBuilder re = new StringBuilder();
    StringBuilder literal = new StringBuilder();
    for (char c : action.toCharArray()) {
      if (c == '*' || c == '?') {
        if (literal.length() > 0) {
          re.append(Pattern.quote(literal.toString()));
          literal.setLength(0);
        }
        re.append(c == '*' ? ".*" : ".");
      } else {
        literal.append(c);
      }
    }
    if (literal.length() > 0) {
      re.append(Pattern.quote(literal.toString()));
    }
    return ignoreCase
        ? Pattern.compile(re.toString(), Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE)
        : Pattern.compile(re.toString(), Pattern.DOTALL);
  }

  /** Evaluates this policy for a caller ARN and an action, for a request with no context. */
  public Decision evaluate(String principalArn, String action) {
    return evaluate(principalArn, action, Map.of());
  }

  /**
   * Evaluates this policy for a caller ARN, an action such as {@code kms:Decrypt} and the request's
   * encryption context (empty if none).
   */
  public Decision evaluate(String principalArn, String action, Map<String, String> context) {
    boolean allowed = false;
    for (Statement s : statements) {
      if (!matchesPrincipal(s, principalArn) || !matchesAction(s, action)) {
        continue;
      }
      boolean holds = true;
      for (Condition c : s.conditions()) {
        holds &= c.holds(principalArn, context);
      }
      if (!holds) {
        continue;
      }
      if (!s.allow()) {
        return Decision.EXPLICIT_DENY;
      }
      allowed = true;
    }
    return allowed ? Decision.ALLOW : Decision.IMPLICIT_DENY;
  }

  /** True if this policy allows the action for the principal. */
  public boolean allows(String principalArn, String action) {
    return evaluate(principalArn, action) == Decision.ALLOW;
  }

  private static boolean matchesAction(Statement s, String action) {
    for (Pattern p : s.actions()) {
      if (p.matcher(action).matches()) {
        return true;
      }
    }
    return false;
  }

  private static boolean matchesPrincipal(Statement s, String principalArn) {
    if (s.anyPrincipal()) {
      return true;
    }
    String account = accountOf(principalArn);
    String role = roleOf(principalArn);
    for (String p : s.principals()) {
      if (p.equals(principalArn) || (role != null && p.equals(role))) {
        return true;
      }
      if (!account.isEmpty()
          && (p.equals(account) || p.equals("arn:aws:iam::" + account + ":root"))) {
        return true;
      }
    }
    return false;
  }

  /**
   * The role an assumed-role session acts as: {@code arn:aws:iam::ACCOUNT:role/ROLE} for {@code
   * arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION}; null for any other ARN. A policy naming the
   * role matches its sessions (as does one naming the session itself).
   */
  public static String roleOf(String arn) {
    if (arn == null) {
      return null;
    }
    String[] parts = arn.split(":", 6);
    if (parts.length != 6 || !parts[2].equals("sts") || !parts[5].startsWith("assumed-role/")) {
      return null;
    }
    String[] rest = parts[5].split("/", -1);
    if (rest.length != 3 || rest[1].isEmpty() || rest[2].isEmpty()) {
      return null;
    }
    return "arn:" + parts[1] + ":iam::" + parts[4] + ":role/" + rest[1];
  }

  /** The account id of an IAM ARN ({@code arn:aws:iam::ACCOUNT:...}), or "" if it has none. */
  public static String accountOf(String arn) {
    if (arn == null) {
      return "";
    }
    String[] parts = arn.split(":", 6);
    return parts.length >= 5 && parts[0].equals("arn") ? parts[4] : "";
  }
}
