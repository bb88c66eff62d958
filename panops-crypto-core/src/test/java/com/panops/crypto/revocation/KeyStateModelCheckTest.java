package com.panops.crypto.revocation;

import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.jetbrains.lincheck.datastructures.ThreadIdGen;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * The latch's state machine ({@link KeyState}), model-checked by Lincheck against {@link Spec}, the
 * rules in their simplest sequential form: every interleaving of a few threads that latch the key
 * (for a customer action, a transport failure, the fleet's word), start and answer probes, lift by
 * the fleet's word and ask the warm path's question ("may I serve?") must give results some
 * sequential order of the same calls gives.
 *
 * <p>What that rules out, among others: a probe answer that started before a latch lifting it (the
 * probe reads the epoch when it starts, and answers later); a settling latch lifted by one success,
 * or by successes counted across a re-latch; the fleet lifting a latch a local call set, even one
 * set between the fleet's decision and its lift; the warm path served after a latch it could
 * observe. At the end of each interleaving, {@link #eventsAlternate_andTheLastOneIsTheState()}
 * checks the queued events: REVOKED and RESTORED alternate, starting with REVOKED, and the last one
 * is the state the key is in.
 */
@Param(name = "thread", gen = ThreadIdGen.class)
public class KeyStateModelCheckTest {
  private static final int THREADS = 3;
  private static final int THREAD_IDS = THREADS + 2;
  private static final Clock CLOCK = Clock.fixed(Instant.EPOCH, ZoneOffset.UTC);

  /** A customer action's latch lifts after two successes; span 0 (no time passes here). */
  private static final KeyState.SettleRule RULE = new KeyState.SettleRule(2, 0, 0, false);

  private final KeyState key = new KeyState("arn:k", "t", 0);

  /** The epoch each thread's probe started in (-1: none started); a slot per thread. */
  private final long[] probeEpoch = {-1, -1, -1, -1, -1};

  @Operation
  public boolean latchByCustomer() {
    return key.set(RevocationReason.DISABLED, null, "DisabledException", true, CLOCK);
  }

  @Operation
  public boolean latchByTransport() {
    return key.set(RevocationReason.UNAVAILABLE, null, "IOException", true, CLOCK);
  }

  @Operation
  public boolean latchByFleet() {
    return key.set(RevocationReason.DISABLED, null, "DisabledException", false, CLOCK);
  }

  /** A probe starts: it reads the epoch before its KMS call. */
  @Operation
  public void startProbe(@Param(name = "thread") int thread) {
    probeEpoch[thread] = key.epoch();
  }

  /** The probe this thread started succeeds (null if it started none). */
  @Operation
  public KeyState.ProbeVerdict answerProbe(@Param(name = "thread") int thread) {
    long e = probeEpoch[thread];
    if (e < 0) {
      return null;
    }
    probeEpoch[thread] = -1;
    return key.probeSucceeded(e, 0, 0, RULE, () -> {}, CLOCK);
  }

  @Operation
  public boolean liftByFleet() {
    return key.liftByFleet(0, CLOCK);
  }

  /** The warm path's one read: may a data key of this CMK be served now? */
  @Operation
  public boolean serve() {
    return key.revocation() == null;
  }

  @Validate
  public void eventsAlternate_andTheLastOneIsTheState() {
    RevocationEvent.Kind last = null;
    for (RevocationEvent e = key.nextPending(); e != null; e = key.nextPending()) {
      RevocationEvent.Kind want =
          last == RevocationEvent.Kind.REVOKED
              ? RevocationEvent.Kind.RESTORED
              : RevocationEvent.Kind.REVOKED;
      if (e.kind() != want) {
        throw new AssertionError("event " + e.kind() + " after " + last);
      }
      last = e.kind();
    }
    boolean latched = last == RevocationEvent.Kind.REVOKED;
    if (key.isRevoked() != latched) {
      throw new AssertionError("latched " + key.isRevoked() + " but the last event is " + last);
    }
  }

  /** Model checking: every interleaving of each generated scenario, up to the bound. */
  @Test
  void noAnswerOlderThanALatchLiftsIt_andNothingIsServedWhileLatched() {
    new ModelCheckingOptions()
        .threads(THREADS)
        .actorsPerThread(3)
        .actorsBefore(2)
        .actorsAfter(2)
        .iterations(30)
        .invocationsPerIteration(300)
        .sequentialSpecification(Spec.class)
        .check(KeyStateModelCheckTest.class);
  }

  /** The same scenarios on real threads: the JIT's orderings. */
  @Test
  void theSameRules_holdOnRealThreads() {
    new StressOptions()
        .threads(THREADS)
        .actorsPerThread(3)
        .iterations(20)
        .invocationsPerIteration(1_000)
        .sequentialSpecification(Spec.class)
        .check(KeyStateModelCheckTest.class);
  }

  /** The latch's rules as a sequential object. */
  public static final class Spec {
    private boolean latched;
    private boolean settles;
    private boolean local;
    private int successes;
    private long epoch;
    private final long[] probeEpoch = {-1, -1, -1, -1, -1};

    private boolean set(boolean customer, boolean byLocalCall) {
      boolean first = !latched;
      epoch++;
      settles = customer || (!first && settles);
      local = byLocalCall || (!first && local);
      successes = 0; // a new latch counts its own successes
      latched = true;
      return first;
    }

    public boolean latchByCustomer() {
      return set(true, true);
    }

    public boolean latchByTransport() {
      return set(false, true);
    }

    public boolean latchByFleet() {
      return set(true, false);
    }

    public void startProbe(int thread) {
      probeEpoch[thread] = epoch;
    }

    public KeyState.ProbeVerdict answerProbe(int thread) {
      long e = probeEpoch[thread];
      if (e < 0) {
        return null;
      }
      probeEpoch[thread] = -1;
      if (e != epoch) {
        return KeyState.ProbeVerdict.STALE;
      }
      if (!latched) {
        return KeyState.ProbeVerdict.ALIVE;
      }
      if (settles && ++successes < RULE.probes()) {
        return KeyState.ProbeVerdict.SETTLING;
      }
      latched = false;
      return KeyState.ProbeVerdict.LIFTED;
    }

    public boolean liftByFleet() {
      if (!latched || local) {
        return false;
      }
      latched = false;
      return true;
    }

    public boolean serve() {
      return !latched;
    }
  }
}
