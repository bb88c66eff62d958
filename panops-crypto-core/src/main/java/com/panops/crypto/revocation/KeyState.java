package com.panops.crypto.revocation;

import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.RevocationReason;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The revocation state of one customer master key: the latch, its liveness canary and when it was
 * last used and last proven alive. All fields are read on the warm path without locks (volatile
 * reads only). Internal.
 */
public final class KeyState {
  /** A set latch: why, and what KMS said. */
  record Latch(RevocationReason reason, Throwable cause, String errorCode) {}

  /** The canary: a ciphertext of random bytes under this key, decrypted by every probe. */
  record Canary(byte[] ciphertext, byte[] plaintext) {
    @Override
    public String toString() {
      return "Canary[redacted]";
    }
  }

  final String arn;
  final String tenant;
  volatile Latch latch;
  volatile Canary canary;
  volatile long lastUsedNanos;
  volatile long lastAliveNanos;
  volatile boolean active;
  final AtomicReference<CompletableFuture<Boolean>> probeInFlight = new AtomicReference<>();

  KeyState(String arn, String tenant, long now) {
    this.arn = arn;
    this.tenant = tenant;
    this.lastUsedNanos = now;
    this.lastAliveNanos = now;
  }

  /** The key's ARN. */
  public String arn() {
    return arn;
  }

  /** Whether the key is latched as revoked. */
  public boolean isRevoked() {
    return latch != null;
  }

  /**
   * Fails fast if latched.
   *
   * @throws KeyRevokedException if the key is latched
   */
  public void checkNotRevoked() {
    Latch l = latch;
    if (l != null) {
      throw new KeyRevokedException(arn, l.reason(), l.cause());
    }
  }

  /** Records use at {@code now} (written at most about once a second, to keep the line quiet). */
  void touch(long now) {
    if (now - lastUsedNanos > 1_000_000_000L) {
      lastUsedNanos = now;
    }
  }
}
