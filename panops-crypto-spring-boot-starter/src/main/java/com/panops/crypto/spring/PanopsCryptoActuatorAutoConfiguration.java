package com.panops.crypto.spring;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * The Actuator health indicator {@code panopsCrypto} ({@link PanopsCryptoHealthIndicator}) and the
 * info contributor {@code panopsCrypto} ({@link PanopsCryptoInfoContributor}), each when its
 * Actuator module is on the class path.
 */
@AutoConfiguration(after = PanopsCryptoAutoConfiguration.class)
@ConditionalOnBean(LatchedKeys.class)
public class PanopsCryptoActuatorAutoConfiguration {

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(HealthIndicator.class)
  @ConditionalOnEnabledHealthIndicator("panops-crypto")
  static class Health {
    @Bean
    @ConditionalOnMissingBean(name = "panopsCryptoHealthIndicator")
    PanopsCryptoHealthIndicator panopsCryptoHealthIndicator(
        LatchedKeys latchedKeys,
        CryptoActivity activity,
        PanopsCryptoProperties properties,
        Environment env) {
      return new PanopsCryptoHealthIndicator(
          latchedKeys, activity, revokedStatus(properties.getHealth().getRevokedStatus(), env));
    }

    /**
     * {@code panops.crypto.health.revoked-status}, checked: a status the health endpoint does not
     * rank (a typo such as {@code DWON}, or blank) would leave the aggregate UP while a key is
     * revoked, the opposite of what was asked for.
     */
    static String revokedStatus(String value, Environment env) {
      String action =
          "Use UP (the default: a revoked key is one customer's decision), DOWN or OUT_OF_SERVICE,"
              + " or add a custom status to management.endpoint.health.status.order.";
      if (value == null || value.isBlank()) {
        throw new PanopsCryptoStartupException(
            "panops.crypto.health.revoked-status is blank.", action, null);
      }
      String code = value.trim().toUpperCase(Locale.ROOT);
      Set<String> known = new HashSet<>(List.of("UP", "DOWN", "OUT_OF_SERVICE", "UNKNOWN"));
      Binder.get(env)
          .bind("management.endpoint.health.status.order", Bindable.listOf(String.class))
          .ifBound(order -> order.forEach(s -> known.add(s.trim().toUpperCase(Locale.ROOT))));
      if (!known.contains(code)) {
        throw new PanopsCryptoStartupException(
            "panops.crypto.health.revoked-status="
                + value
                + " is not a health status this application ranks ("
                + new TreeSet<>(known)
                + "): the health endpoint would stay UP while a key is revoked.",
            action,
            null);
      }
      return code;
    }
  }

  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(InfoContributor.class)
  static class Info {
    @Bean
    @ConditionalOnMissingBean(name = "panopsCryptoInfoContributor")
    PanopsCryptoInfoContributor panopsCryptoInfoContributor(
        LatchedKeys latchedKeys, CryptoActivity activity) {
      return new PanopsCryptoInfoContributor(latchedKeys, activity);
    }
  }
}
