package com.panops.crypto;

import java.util.Map;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * Builders of {@link PanopsCrypto} for tests over a fake KMS or LocalKms: plain HTTP to loopback
 * and in-process clients allowed, no audit. A test sets on the builder whatever it checks (probes,
 * cache limits, its own audit sink, a ticker, ...): a later setting replaces these.
 */
public final class TestCrypto {
  private TestCrypto() {}

  /** Over {@code kms} for {@code tenants}, with the default liveness probes. */
  public static PanopsCrypto.Builder builder(KmsClient kms, TenantDirectory tenants) {
    return PanopsCrypto.builder()
        .kmsClient(kms)
        .allowInsecureLocalKmsEndpoint()
        .tenantDirectory(tenants)
        .auditSink(AuditSink.none());
  }

  /** Over {@code kms} for one tenant whose current key is {@code arn}, default probes. */
  public static PanopsCrypto.Builder builder(KmsClient kms, String tenant, String arn) {
    return builder(kms, TenantDirectory.of(Map.of(tenant, TenantKeys.of(arn))));
  }

  /** Over {@code kms} for {@code tenants}, with no liveness probes. */
  public static PanopsCrypto.Builder unprobed(KmsClient kms, TenantDirectory tenants) {
    return builder(kms, tenants).probeSettings(ProbeSettings.off());
  }

  /** Over {@code kms} for {@code tenants} (tenant id to keys), with no liveness probes. */
  public static PanopsCrypto.Builder unprobed(KmsClient kms, Map<String, TenantKeys> tenants) {
    return unprobed(kms, TenantDirectory.of(tenants));
  }

  /** Over {@code kms} for one tenant whose current key is {@code arn}, no liveness probes. */
  public static PanopsCrypto.Builder unprobed(KmsClient kms, String tenant, String arn) {
    return unprobed(kms, Map.of(tenant, TenantKeys.of(arn)));
  }
}
