package com.panops.crypto.spring;

import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.actuate.info.Info;
import org.springframework.boot.actuate.info.InfoContributor;

/**
 * Adds {@code panopsCrypto} to the Actuator info endpoint: the data-key cache (settings, hits and
 * misses per side), the liveness probe (settings, counts, last outcome), KMS call counts and how
 * many keys are latched. No key material and no secrets: ARNs are shown by the health indicator
 * only.
 */
public final class PanopsCryptoInfoContributor implements InfoContributor {
  private final LatchedKeys latchedKeys;
  private final CryptoActivity activity;

  PanopsCryptoInfoContributor(LatchedKeys latchedKeys, CryptoActivity activity) {
    this.latchedKeys = latchedKeys;
    this.activity = activity;
  }

  @Override
  public void contribute(Info.Builder builder) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cache", activity.cacheDetails());
    m.put("probe", activity.probeDetails());
    m.put("kms", activity.kmsDetails());
    m.put("latchedKeyCount", latchedKeys.snapshot().size());
    builder.withDetail("panopsCrypto", m);
  }
}
