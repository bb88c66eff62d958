package com.panops.crypto.testkit.internal.kms;

import com.panops.crypto.testkit.Principal;
import java.util.Set;

/** A grant: the grantee (an IAM principal or role ARN) may call these operations. */
record Grant(String id, String grantee, Set<String> operations) {

  /** Whether the grant lets {@code caller} (or the role of its session) perform {@code action}. */
  boolean allows(Principal caller, String action) {
    String op = action.startsWith("kms:") ? action.substring(4) : action;
    boolean who = grantee.equals(caller.arn()) || grantee.equals(KeyPolicy.roleOf(caller.arn()));
    return who && operations.contains(op);
  }
}
