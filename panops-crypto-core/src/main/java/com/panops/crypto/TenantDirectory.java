package com.panops.crypto;

import java.util.Map;

/**
 * Maps a tenant id to its {@link TenantKeys}. Consulted by {@link PanopsCrypto#tenant(String)};
 * must be thread-safe.
 */
@FunctionalInterface
public interface TenantDirectory {
  /** The tenant's keys, or {@code null} if the tenant is unknown. */
  TenantKeys keysOf(String tenantId);

  /** A fixed directory. */
  static TenantDirectory of(Map<String, TenantKeys> tenants) {
    Map<String, TenantKeys> copy = Map.copyOf(tenants);
    return copy::get;
  }
}
