package com.panops.crypto.format;

import java.lang.reflect.Field;
import java.util.Arrays;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.jetbrains.lincheck.datastructures.ThreadIdGen;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * The lease protocol of {@link FrameKey}, model-checked by Lincheck: every interleaving of a few
 * threads (up to a bound) that lease, use, release and retire one key, as a client that follows the
 * protocol does (a thread releases only leases it holds).
 *
 * <p>Each operation's result is compared against {@link Spec}, the protocol in its simplest form: a
 * retired flag and the leases each thread holds. Lincheck reports an interleaving whose results no
 * sequential order of the same operations could give. What results cannot show (the owner's
 * reference, the zeroing of the bytes) is checked at the end of every interleaving by {@link
 * #theKeyIsZeroed_exactlyWhenRetiredAndNoLeaseIsHeld()}.
 */
@Param(name = "thread", gen = ThreadIdGen.class)
public class FrameKeyLeaseModelCheckTest {
  private static final int THREADS = 3;

  /** Lincheck's thread ids: 0 to 2 in the parallel part, 3 and 4 in the prefix and suffix. */
  private static final int THREAD_IDS = THREADS + 2;

  private static final byte[] ORIGINAL = FrameKeyLeaseTest.keyBytes(7);

  private final FrameKey key = FrameKey.of(ORIGINAL, MessageFormat.SUITE_AES256_GCM_COMMIT);

  /** Leases held per thread; each slot is touched only by its own thread. */
  private final int[] held = new int[THREAD_IDS];

  /**
   * A lease racing the retire: a lease granted once the retire is visible (to {@link #isRetired()}
   * or to a refused lease) is a lease on a key whose owner has let go, and may be the one that sees
   * the bytes zeroed under it.
   */
  @Operation
  public boolean lease(@Param(name = "thread") int thread) {
    if (!key.tryLease()) {
      return false;
    }
    held[thread]++;
    return true;
  }

  /**
   * The last release racing a new lease: the release that drops the count to zero zeroes the bytes,
   * so a lease that slips in after it must be refused, and one that wins the race must keep the
   * bytes whole. Also fails (with the exception as its result) if a release in order is refused.
   */
  @Operation
  public boolean releaseOne(@Param(name = "thread") int thread) {
    if (held[thread] == 0) {
      return false;
    }
    held[thread]--;
    key.release();
    return true;
  }

  /** Retiring twice, or racing another retire, gives up the owner's reference once. */
  @Operation
  public void retire() {
    key.retire();
  }

  @Operation
  public boolean isRetired() {
    return key.isRetired();
  }

  /**
   * For a thread that holds a lease: the key bytes are the original ones, whatever the other
   * threads retire or release meanwhile ({@code null} for a thread that holds none).
   */
  @Operation
  public Boolean bytesIntactWhileLeased(@Param(name = "thread") int thread) {
    if (held[thread] == 0) {
      return null;
    }
    return Arrays.equals(ORIGINAL, key.getEncoded());
  }

  /**
   * At the end of every interleaving (all threads done): the bytes are zeroed if and only if the
   * key was retired and every lease given back; otherwise they are the original bytes. Catches a
   * leak (retired, all released, bytes still there), an early zeroing whose victim made no further
   * call, and a second release of the owner's reference.
   */
  @Validate
  public void theKeyIsZeroed_exactlyWhenRetiredAndNoLeaseIsHeld() {
    boolean gone = key.isRetired() && Arrays.stream(held).sum() == 0;
    check(key.isDestroyed() == gone, "isDestroyed() is " + key.isDestroyed());
    check(
        Arrays.equals(gone ? new byte[ORIGINAL.length] : ORIGINAL, bytesOf(key)),
        gone ? "retired and all released, but the bytes are not zeroed" : "bytes changed");
    if (gone) {
      check(!key.tryLease(), "a lease was granted on a zeroed key");
    }
  }

  /**
   * Model checking: every interleaving of each generated scenario, up to the invocation bound (3
   * threads, 3 operations each, before and after a sequential prefix and suffix).
   */
  @Test
  void aLeaseTakenBeforeRetire_keepsTheBytesUntilReleased_andNoLeaseIsGrantedAfterRetire() {
    new ModelCheckingOptions()
        .threads(THREADS)
        .actorsPerThread(3)
        .actorsBefore(2)
        .actorsAfter(2)
        .iterations(15)
        .invocationsPerIteration(400)
        .sequentialSpecification(Spec.class)
        .check(FrameKeyLeaseModelCheckTest.class);
  }

  /** The same scenarios on real threads, without Lincheck's scheduler: the JIT's orderings. */
  @Test
  void theSameProtocol_holdsOnRealThreads() {
    new StressOptions()
        .threads(THREADS)
        .actorsPerThread(3)
        .iterations(15)
        .invocationsPerIteration(1_000)
        .sequentialSpecification(Spec.class)
        .check(FrameKeyLeaseModelCheckTest.class);
  }

  static byte[] bytesOf(FrameKey key) {
    try {
      Field f = FrameKey.class.getDeclaredField("key");
      f.setAccessible(true);
      return ((byte[]) f.get(key)).clone();
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError(what);
    }
  }

  /** The protocol as a sequential object: retired or not, and the leases each thread holds. */
  public static final class Spec {
    private boolean retired;
    private final int[] held = new int[THREAD_IDS];

    public boolean lease(int thread) {
      if (retired) {
        return false;
      }
      held[thread]++;
      return true;
    }

    public boolean releaseOne(int thread) {
      if (held[thread] == 0) {
        return false;
      }
      held[thread]--;
      return true;
    }

    public void retire() {
      retired = true;
    }

    public boolean isRetired() {
      return retired;
    }

    public Boolean bytesIntactWhileLeased(int thread) {
      return held[thread] == 0 ? null : Boolean.TRUE;
    }
  }
}
