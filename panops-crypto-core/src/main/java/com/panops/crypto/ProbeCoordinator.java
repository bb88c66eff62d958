package com.panops.crypto;

import java.time.Duration;

/**
 * Shares the kill switch's liveness probes across a fleet of workers, so that each customer master
 * key (CMK) is probed about once per interval by the fleet instead of once per worker. Given to
 * {@link PanopsCrypto.Builder#probeCoordinator}; without one, every worker probes every key it uses
 * (standalone). An implementation on PostgreSQL is in {@code panops-crypto-fleet}.
 *
 * <p><b>What a coordinator can and cannot do</b> (enforced by the engine, whatever the
 * implementation does):
 *
 * <ul>
 *   <li>It can spare this worker a probe: a key this worker does not probe itself ({@link
 *       #assigned} false) is served from cache only while it was proven alive within two probe
 *       intervals, by this worker's own KMS call or by a fleet attestation ({@link
 *       Fleet#provenAlive}). When neither is fresh enough (after 1.75 intervals in the background,
 *       at two intervals on the request thread) the worker probes the key itself: a coordinator
 *       that stops attesting leaves the worker as safe as a standalone one.
 *   <li>It can make this worker stricter: {@link Fleet#revoked} latches the key at once (a new
 *       epoch, cached data keys purged), as a failed KMS call of this worker would.
 *   <li>It can lift only latches it set: {@link Fleet#restored} lifts a latch set by {@link
 *       Fleet#revoked} alone. A latch this worker's own KMS call set (or that its own call re-set
 *       after a fleet revocation) lifts only through this worker's own probe, started after that
 *       latch, with the usual epoch and settle rules. Attestations are ignored while latched.
 * </ul>
 *
 * <p><b>Contract for implementations.</b> The engine calls the methods of this interface from its
 * scheduler, probe and request threads: they must be thread-safe, return quickly and not block on
 * I/O (queue the work). Anything they throw is logged and ignored, except that {@link #assigned}
 * throwing counts as {@code true} (probe locally: fail safe). {@link #assigned} must return {@code
 * true} for every key while the coordinator cannot reach its peers (or is not sure it hears their
 * revocations), so that the worker probes on its own. {@link Fleet#restored} must only be called
 * for a restore whose probe started after every revocation of the key this coordinator has
 * delivered with {@link Fleet#revoked}. One coordinator serves one {@link PanopsCrypto}, which
 * calls {@link #start} once when built and {@link #close} when closed.
 */
public interface ProbeCoordinator extends AutoCloseable {

  /** Connects the coordinator to this worker's revocation engine. Called once, before any use. */
  void start(Fleet fleet);

  /**
   * This worker uses {@code keyArn} (called when the key becomes active and again on every
   * scheduler pass while it stays in use; implementations record interest lazily).
   */
  void interested(String keyArn);

  /**
   * Whether this worker must probe {@code keyArn} itself on its schedule: the key is assigned to
   * it, or the coordinator is not healthy.
   */
  boolean assigned(String keyArn);

  /**
   * A probe of this worker found {@code keyArn} alive (no latch, and the probe started in the
   * current epoch); the probe started {@code sinceStart} ago. The coordinator may attest it to the
   * fleet.
   */
  void probeSucceeded(String keyArn, Duration sinceStart);

  /**
   * A KMS call of this worker (a probe or a data-key call) latched {@code keyArn}: publish it to
   * the fleet at once.
   */
  void latched(String keyArn, RevocationReason reason, String errorCode);

  /** A probe of this worker lifted the latch of {@code keyArn} (after settling): publish it. */
  void restored(String keyArn);

  /** Stops the coordinator; from then on it calls nothing on the {@link Fleet}. */
  @Override
  void close();

  /** The engine's side, given to {@link #start}. Thread-safe; calls return quickly. */
  interface Fleet {
    /** This worker's probe interval. */
    Duration probeInterval();

    /**
     * A worker of the fleet found {@code keyArn} alive with a probe that started {@code age} ago.
     * Ignored for a key this worker does not use or that is latched here.
     */
    void provenAlive(String keyArn, Duration age);

    /** A worker of the fleet saw {@code keyArn} fail: latch it here (a fleet latch). */
    void revoked(String keyArn, RevocationReason reason, String errorCode);

    /**
     * The worker probing {@code keyArn} lifted its latch: lift this worker's latch if, and only if,
     * it is a fleet latch (no KMS call of this worker set it).
     */
    void restored(String keyArn);
  }
}
