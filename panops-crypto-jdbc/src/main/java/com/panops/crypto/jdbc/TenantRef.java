package com.panops.crypto.jdbc;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import java.util.Objects;

/**
 * How a JDBC object reaches its tenant's keys: resolved from the {@link PanopsCrypto} on every call
 * (so a CMK migration in the tenant directory reaches every instance across a fleet at once, as in
 * the S3 adapter), or pinned to one {@link TenantCrypto} snapshot (the older API; its keys never
 * change). Immutable; made by {@link #live} or {@link #pinned(TenantCrypto)}.
 *
 * @param id the tenant id (stable: bound into every value's AAD)
 * @param crypto the library instance (to read latches), or null when pinned
 * @param pinned the snapshot this always gives, or null when live
 */
record TenantRef(String id, PanopsCrypto crypto, TenantCrypto pinned) {
  TenantRef {
    Objects.requireNonNull(id, "id");
    if ((crypto == null) == (pinned == null)) {
      throw new IllegalArgumentException("a tenant reference is either live or pinned");
    }
  }

  /** Resolved per call: {@code crypto.tenant(tenantId)}. */
  static TenantRef live(PanopsCrypto crypto, String tenantId) {
    Objects.requireNonNull(crypto, "crypto");
    Objects.requireNonNull(tenantId, "tenantId");
    crypto.tenant(tenantId); // fails now for an unknown tenant
    return new TenantRef(tenantId, crypto, null);
  }

  /** Always {@code tenant}: the keys it was made with. */
  static TenantRef pinned(TenantCrypto tenant) {
    Objects.requireNonNull(tenant, "tenant");
    return new TenantRef(tenant.tenantId(), null, tenant);
  }

  /** The tenant's keys as the directory gives them now (or the pinned snapshot). */
  TenantCrypto get() {
    return pinned != null ? pinned : crypto.tenant(id);
  }

  /** Whether this resolves per call. */
  boolean isLive() {
    return pinned == null;
  }
}
