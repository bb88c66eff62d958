package com.panops.crypto.fleet;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 under the key every worker of the fleet shares, over length-prefixed parts, so that
 * no two different lists of parts authenticate alike.
 */
final class FleetMac {
  private final SecretKeySpec key;

  FleetMac(byte[] key) {
    this.key = new SecretKeySpec(key, "HmacSHA256");
  }

  byte[] of(String... parts) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(key);
      for (String p : parts) {
        byte[] b = p.getBytes(StandardCharsets.UTF_8);
        m.update(
            new byte[] {
              (byte) (b.length >>> 24),
              (byte) (b.length >>> 16),
              (byte) (b.length >>> 8),
              (byte) b.length
            });
        m.update(b);
      }
      return m.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** Whether {@code mac} authenticates {@code parts}, compared in constant time. */
  boolean verifies(byte[] mac, String... parts) {
    return MessageDigest.isEqual(of(parts), mac);
  }
}
