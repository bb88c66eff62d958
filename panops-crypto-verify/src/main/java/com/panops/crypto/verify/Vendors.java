package com.panops.crypto.verify;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which callers are the vendor. Named: a role ARN (its assumed-role sessions fold to it, its path
 * is dropped), a session ARN (folded to its role), any IAM ARN, or a 12-digit account id (every
 * principal of that account). A record that names only the caller's account (no ARN) is the
 * vendor's when that account is named or is the account of a named ARN: attributed by account,
 * never dropped. Not named: every caller from an account other than the key's own (the customer's
 * principals and AWS services in their own name are not the vendor).
 */
final class Vendors {
  private final Set<String> named = new HashSet<>();
  private final Set<String> accounts = new HashSet<>();

  Vendors(List<String> named) {
    for (String n : named) {
      String p = RecordFields.folded(n);
      this.named.add(p);
      if (p.matches("\\d{12}")) {
        accounts.add(p);
      } else {
        String[] parts = p.split(":", 6);
        if (parts.length == 6 && parts[4].matches("\\d{12}")) {
          accounts.add(parts[4]);
        }
      }
    }
  }

  boolean named() {
    return !named.isEmpty();
  }

  List<String> list() {
    return named.stream().sorted().toList();
  }

  boolean isVendor(String principal, String account, String keyAccount) {
    if (principal.startsWith("service:") || principal.equals("unknown")) {
      return false;
    }
    if (!named.isEmpty()) {
      return named.contains(principal)
          || (account != null && named.contains(account))
          || (principal.startsWith("account:") && accounts.contains(account));
    }
    return account != null && keyAccount != null && !account.equals(keyAccount);
  }

  /** The caller's account: the record's, else the one in its ARN or {@code account:} name. */
  static String account(KmsRecord r) {
    if (r.accountId() != null) {
      return r.accountId();
    }
    String p = r.principal();
    if (p.startsWith("account:")) {
      return p.substring("account:".length());
    }
    String[] parts = p.split(":", 6);
    return parts.length == 6 && parts[4].matches("\\d{12}") ? parts[4] : null;
  }
}
