package com.panops.crypto.spring;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
     * {@code panops.crypto.health.revoked-status}, checked against the status order the health
     * endpoint will use ({@code management.endpoint.health.status.order} if set, else Spring Boot's
     * DOWN, OUT_OF_SERVICE, UP, UNKNOWN; and every group's {@code status.order}): it must be UP
     * (the default: no change) or rank above UP, else the aggregate would stay UP while a key is
     * revoked (a typo such as {@code DWON}, a blank, UNKNOWN, a status the order leaves out). Codes
     * are compared as Spring Boot compares them: letters and digits, upper case.
     */
    static String revokedStatus(String value, Environment env) {
      String action =
          "Use UP (the default: a revoked key is one customer's decision), DOWN or OUT_OF_SERVICE"
              + " (or a custom status listed before UP in management.endpoint.health.status.order"
              + " and in every health group's status.order).";
      if (value == null || value.isBlank()) {
        throw new PanopsCryptoStartupException(
            "panops.crypto.health.revoked-status is blank.", action, null);
      }
      String code = uniform(value);
      if (code.equals("UP")) {
        return "UP";
      }
      Binder binder = Binder.get(env);
      Map<String, List<String>> orders = new LinkedHashMap<>();
      orders.put(
          "management.endpoint.health.status.order",
          binder
              .bind("management.endpoint.health.status.order", Bindable.listOf(String.class))
              .orElse(List.of("DOWN", "OUT_OF_SERVICE", "UP", "UNKNOWN")));
      binder
          .bind("management.endpoint.health.group", Bindable.mapOf(String.class, Object.class))
          .ifBound(
              groups -> {
                for (String g : groups.keySet()) {
                  String name = "management.endpoint.health.group." + g + ".status.order";
                  binder
                      .bind(name, Bindable.listOf(String.class))
                      .ifBound(order -> orders.put(name, order));
                }
              });
      for (Map.Entry<String, List<String>> o : orders.entrySet()) {
        List<String> ranked = o.getValue().stream().map(s -> uniform(s)).toList();
        int at = ranked.indexOf(code);
        int up = ranked.indexOf("UP");
        if (at < 0 || (up >= 0 && at > up)) {
          throw new PanopsCryptoStartupException(
              "panops.crypto.health.revoked-status="
                  + value
                  + " does not rank above UP in "
                  + o.getKey()
                  + " "
                  + o.getValue()
                  + ": the health endpoint would stay UP while a key is revoked.",
              action,
              null);
        }
      }
      return switch (code) {
        case "DOWN" -> "DOWN";
        case "OUTOFSERVICE" -> "OUT_OF_SERVICE";
        default -> value.trim().toUpperCase(Locale.ROOT);
      };
    }

    /** A status code as Spring Boot's status aggregator compares it. */
    private static String uniform(String code) {
      StringBuilder b = new StringBuilder();
      for (char c : code.toCharArray()) {
        if (Character.isLetterOrDigit(c)) {
          b.append(Character.toUpperCase(c));
        }
      }
      return b.toString();
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
