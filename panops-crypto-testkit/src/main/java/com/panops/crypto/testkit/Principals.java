package com.panops.crypto.testkit;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The callers LocalKms knows, by access key id: each registered with a new random access key id
 * ({@code AKIA} and 16 base-32 characters, unique among them) and a random secret. Thread-safe.
 */
final class Principals {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final char[] KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".toCharArray();

  private final Map<String, Principal> byAccessKeyId = new ConcurrentHashMap<>();

  /** See {@link LocalKms#addPrincipal(String)}. */
  Principal add(String principalArn) {
    Objects.requireNonNull(principalArn, "principalArn");
    boolean session =
        new Principal(principalArn, "-", "-").isAssumedRole()
            && principalArn.startsWith("arn:aws:sts::");
    if (!principalArn.startsWith("arn:aws:iam::") && !session) {
      throw new IllegalArgumentException(
          "expected an IAM principal or assumed-role session ARN: " + principalArn);
    }
    while (true) {
      StringBuilder akid = new StringBuilder("AKIA");
      for (int i = 0; i < 16; i++) {
        akid.append(KEY_ID_ALPHABET[RANDOM.nextInt(KEY_ID_ALPHABET.length)]);
      }
      byte[] secret = new byte[30];
      RANDOM.nextBytes(secret);
      Principal p =
          new Principal(principalArn, akid.toString(), Base64.getEncoder().encodeToString(secret));
      if (byAccessKeyId.putIfAbsent(p.accessKeyId(), p) == null) {
        return p;
      }
    }
  }

  /** The principal with this access key id; null if there is none. */
  Principal byAccessKeyId(String accessKeyId) {
    return byAccessKeyId.get(accessKeyId);
  }
}
