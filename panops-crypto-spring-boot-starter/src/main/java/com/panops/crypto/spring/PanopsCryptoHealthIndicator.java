package com.panops.crypto.spring;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;

/**
 * Health of panops-crypto: the CMKs latched as revoked now, each with its reason, KMS error code
 * and since when, and the last probe's outcome.
 *
 * <p><b>A documented choice:</b> a latched key does <em>not</em> make the service DOWN by default.
 * A revoked key is one customer's decision (their kill switch), and every other tenant is served as
 * before; a DOWN status would have orchestrators restart or unroute a healthy multi-tenant worker,
 * which cannot bring the key back. So the status stays {@code UP} and the latched keys are listed
 * in the details ({@code latchedKeys}, {@code latchedKeyCount}), for alerts to act on. A
 * single-tenant service may set {@code panops.crypto.health.revoked-status=DOWN} (or {@code
 * OUT_OF_SERVICE}, or any custom status) to report that status while any key is latched.
 */
public final class PanopsCryptoHealthIndicator implements HealthIndicator {
  private final LatchedKeys latchedKeys;
  private final CryptoActivity activity;
  private final Status revokedStatus;

  PanopsCryptoHealthIndicator(
      LatchedKeys latchedKeys, CryptoActivity activity, String revokedStatus) {
    this.latchedKeys = latchedKeys;
    this.activity = activity;
    this.revokedStatus = new Status(revokedStatus.trim().toUpperCase(java.util.Locale.ROOT));
  }

  @Override
  public Health health() {
    List<LatchedKeys.Latched> latched = latchedKeys.snapshot();
    Health.Builder b = latched.isEmpty() ? Health.up() : Health.status(revokedStatus);
    List<Map<String, Object>> keys =
        latched.stream()
            .map(
                l -> {
                  Map<String, Object> m = new LinkedHashMap<>();
                  m.put("keyArn", l.keyArn());
                  m.put("reason", String.valueOf(l.reason()));
                  m.put("errorCode", l.errorCode() == null ? "" : l.errorCode());
                  m.put("since", String.valueOf(l.since()));
                  return m;
                })
            .toList();
    Map<String, Object> probe = activity.probeDetails();
    Map<String, Object> lastProbe = new LinkedHashMap<>();
    for (String k : List.of("lastProbeAt", "lastProbeSucceeded", "probes", "probeFailures")) {
      if (probe.containsKey(k)) {
        lastProbe.put(k, probe.get(k));
      }
    }
    return b.withDetail("latchedKeyCount", keys.size())
        .withDetail("latchedKeys", keys)
        .withDetail("probe", lastProbe)
        .build();
  }
}
