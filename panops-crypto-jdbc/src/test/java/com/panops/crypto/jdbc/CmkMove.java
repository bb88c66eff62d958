package com.panops.crypto.jdbc;

import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A customer's CMK migration for one tenant as the directory sees it: two new LocalKms keys; the
 * tenant is under the old one until {@link #moveToNewCmk()}, then under the new one with the old
 * kept for reading, until {@link #dropOldCmk()}. The directory knows no other tenant.
 */
final class CmkMove implements TenantDirectory {
  final String tenant;
  final String oldCmk;
  final String newCmk;
  private final AtomicReference<TenantKeys> keys;

  /** Creates keys described as {@code name + "-old"} and {@code name + "-new"}. */
  CmkMove(String tenant, String name) {
    this.tenant = tenant;
    this.oldCmk = JdbcTestEnvironment.newKey(name + "-old");
    this.newCmk = JdbcTestEnvironment.newKey(name + "-new");
    this.keys = new AtomicReference<>(TenantKeys.of(oldCmk));
  }

  @Override
  public TenantKeys keysOf(String tenantId) {
    return tenantId.equals(tenant) ? keys.get() : null;
  }

  /** The tenant's keys as they are now. */
  TenantKeys current() {
    return keys.get();
  }

  /** The customer has created the new CMK: encrypt under it, still decrypt under the old one. */
  void moveToNewCmk() {
    keys.set(TenantKeys.of(newCmk, List.of(oldCmk)));
  }

  /** The old CMK leaves the directory. */
  void dropOldCmk() {
    keys.set(TenantKeys.of(newCmk));
  }
}
