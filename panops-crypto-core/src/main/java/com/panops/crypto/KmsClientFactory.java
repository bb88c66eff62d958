package com.panops.crypto;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * Picks the {@link KmsClient} for a CMK, for workers that reach customer keys in several regions or
 * through several cross-account roles. Must be thread-safe and return the same client for the same
 * key; the library never closes the clients.
 */
@FunctionalInterface
public interface KmsClientFactory {
  KmsClient clientFor(String keyArn);

  /**
   * One client per (region, account) of the key ARN, made on first use by {@code make} and kept.
   */
  static KmsClientFactory perRegionAndAccount(BiFunction<String, String, KmsClient> make) {
    Map<String, KmsClient> clients = new ConcurrentHashMap<>();
    return arn -> {
      String[] parts = arn.split(":", 6);
      String region = parts[3];
      String account = parts[4];
      return clients.computeIfAbsent(region + ":" + account, k -> make.apply(region, account));
    };
  }
}
