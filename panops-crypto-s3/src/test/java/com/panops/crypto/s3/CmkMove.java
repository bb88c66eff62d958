package com.panops.crypto.s3;

import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A customer's CMK migration as the directory sees it: every tenant is under the old CMK until
 * {@link #moveToNewCmk()}, then under the new one with the old kept for reading.
 */
final class CmkMove implements TenantDirectory {
  final String oldCmk;
  final String newCmk;
  private final AtomicReference<TenantKeys> keys;

  CmkMove(String oldCmk, String newCmk) {
    this.oldCmk = oldCmk;
    this.newCmk = newCmk;
    this.keys = new AtomicReference<>(TenantKeys.of(oldCmk));
  }

  /** A move between two keys of the shared environment that no other test uses. */
  static CmkMove betweenFreshKeys(S3TestEnv env) {
    return new CmkMove(env.freshKey(), env.freshKey());
  }

  @Override
  public TenantKeys keysOf(String tenantId) {
    return keys.get();
  }

  /** The customer has created the new CMK: encrypt under it, still decrypt under the old one. */
  void moveToNewCmk() {
    keys.set(TenantKeys.of(newCmk, List.of(oldCmk)));
  }
}
