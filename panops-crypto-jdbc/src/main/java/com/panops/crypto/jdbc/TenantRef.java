package com.panops.crypto.jdbc;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import java.util.Objects;

/**
 * How a JDBC object reaches its tenant's keys: resolved from the {@link PanopsCrypto} on every call
 * (so a CMK migration in the tenant directory reaches every instance across a fleet at once, as in
 * the S3 adapter), or pinned to one {@link TenantCrypto} snapshot (the older API; its keys never
 * change). Immutable.
 */
final class TenantRef {
  private final String id;
  private final PanopsCrypto crypto;
  private final TenantCrypto pinned;

  private TenantRef(String id, PanopsCrypto crypto, TenantCrypto pinned) {
    this.id = id;
    this.crypto = crypto;
    this.pinned = pinned;
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

  /** The tenant id (stable: bound into every value's AAD). */
  String id() {
    return id;
  }

  /** The tenant's keys as the directory gives them now (or the pinned snapshot). */
  TenantCrypto get() {
    return pinned != null ? pinned : crypto.tenant(id);
  }

  /** The library instance (to read latches), or null when pinned. */
  PanopsCrypto crypto() {
    return crypto;
  }

  /** Whether this resolves per call. */
  boolean isLive() {
    return pinned == null;
  }
}
