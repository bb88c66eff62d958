package com.panops.crypto.observe;

import com.panops.crypto.RevocationReason;
import com.panops.crypto.metrics.CryptoMetrics;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wraps the application's {@link CryptoMetrics} so that a sink that throws can never change what
 * the library does: the kill switch latches, a probe finishes, a request fails or succeeds exactly
 * as it would with a sink that works (a sink that throws on failures must not keep a disabled key
 * from latching). Everything a sink throws is swallowed and logged (by class name only), not just
 * runtime exceptions: see {@link #swallow}. A {@code try} costs nothing on the warm path unless
 * something is thrown. Internal.
 */
public final class GuardedMetrics implements CryptoMetrics {
  // the log category of earlier releases, so that filters set on it keep working
  private static final Logger LOG =
      LoggerFactory.getLogger("com.panops.crypto.metrics.GuardedMetrics");

  private final CryptoMetrics delegate;

  private GuardedMetrics(CryptoMetrics delegate) {
    this.delegate = delegate;
  }

  /** {@code m} guarded (itself if already guarded). */
  public static CryptoMetrics of(CryptoMetrics m) {
    return m instanceof GuardedMetrics ? m : new GuardedMetrics(m);
  }

  /**
   * Swallows what a sink threw, whatever it is (a Kotlin or sneaky-thrown checked exception, an
   * {@code Error} such as a {@code LinkageError}), except a {@link VirtualMachineError}: the JVM
   * itself is failing then, and hiding that helps no one.
   */
  public static void swallow(Throwable e, String what) {
    if (e instanceof VirtualMachineError) {
      throw (VirtualMachineError) e;
    }
    LOG.warn("{} failed: {}", what, e.getClass().getName());
  }

  private static void failed(Throwable e) {
    swallow(e, "metrics sink");
  }

  @Override
  public void cacheMiss(String side) {
    try {
      delegate.cacheMiss(side);
    } catch (Throwable e) {
      failed(e);
    }
  }

  @Override
  public void cacheHit(String side) {
    try {
      delegate.cacheHit(side);
    } catch (Throwable e) {
      failed(e);
    }
  }

  @Override
  public void kmsCall(String operation, String purpose, boolean success, Duration latency) {
    try {
      delegate.kmsCall(operation, purpose, success, latency);
    } catch (Throwable e) {
      failed(e);
    }
  }

  @Override
  public void revoked(RevocationReason reason) {
    try {
      delegate.revoked(reason);
    } catch (Throwable e) {
      failed(e);
    }
  }

  @Override
  public void restored() {
    try {
      delegate.restored();
    } catch (Throwable e) {
      failed(e);
    }
  }

  @Override
  public void probe(boolean success, Duration latency) {
    try {
      delegate.probe(success, latency);
    } catch (Throwable e) {
      failed(e);
    }
  }

  @Override
  public void probeDeferred() {
    try {
      delegate.probeDeferred();
    } catch (Throwable e) {
      failed(e);
    }
  }

  @Override
  public void ciphertextRefused(boolean fromMemory) {
    try {
      delegate.ciphertextRefused(fromMemory);
    } catch (Throwable e) {
      failed(e);
    }
  }
}
