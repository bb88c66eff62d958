package com.panops.crypto.spring;

import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

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
        LatchedKeys latchedKeys, CryptoActivity activity, PanopsCryptoProperties properties) {
      return new PanopsCryptoHealthIndicator(
          latchedKeys, activity, properties.getHealth().getRevokedStatus());
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
