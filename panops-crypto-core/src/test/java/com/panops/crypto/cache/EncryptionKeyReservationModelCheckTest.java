package com.panops.crypto.cache;

import com.panops.crypto.format.FrameKey;
import java.lang.reflect.Field;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * The encrypt-side reservations of {@link EncryptionKey}, model-checked by Lincheck: threads
 * reserve messages ({@link EncryptionKey#tryUse}) and stream frames ({@link
 * EncryptionKey#tryFrame}) on one key that starts two frames below the hard ceiling of {@link
 * EncryptionKey#MAX_INVOCATIONS} GCM invocations with one of its three messages used.
 *
 * <p>Which racing reservation wins is not specified (two racers may both be refused where one would
 * fit), so the operations return nothing and the checks are on what was granted, at the end of
 * every interleaving: {@link #neverMoreReservationsThanTheLimits()}.
 */
@Param(name = "frames", gen = IntGen.class, conf = "0:2")
public class EncryptionKeyReservationModelCheckTest {
  private static final int THREADS = 3;
  private static final long ROOM = 2; // frames left under the ceiling when the threads start
  private static final long MAX_MESSAGES = 3;
  private static final long MAX_BYTES = 3 * 4096;

  private final EncryptionKey key =
      new EncryptionKey(
          FrameKey.of(new byte[32], 1), new byte[0], 0, "arn", MAX_MESSAGES, MAX_BYTES, 0);
  private final AtomicLong grantedFrames = new AtomicLong();
  private final AtomicInteger grantedMessages = new AtomicInteger();
  private final AtomicInteger messagesOnARetiredKey = new AtomicInteger();

  public EncryptionKeyReservationModelCheckTest() {
    // the first message: all but ROOM of the ceiling
    if (!key.tryUse(0, EncryptionKey.MAX_INVOCATIONS - ROOM)) {
      throw new IllegalStateException("a fresh key refused its first message");
    }
  }

  /**
   * A one-shot message of {@code frames} frames (0: a stream starting). Guards against two messages
   * that both see room for one and together cross the ceiling (check-then-add), and against a
   * message granted once the key was seen retired.
   */
  @Operation
  public void message(@Param(name = "frames") int frames) {
    boolean wasRetired = key.isRetired();
    if (key.tryUse(0, frames)) {
      grantedMessages.incrementAndGet();
      grantedFrames.addAndGet(frames);
      if (wasRetired) {
        messagesOnARetiredKey.incrementAndGet();
      }
    }
  }

  /**
   * One 4 KiB frame of a stream. Guards against a frame racing another frame or a message for the
   * last invocation: the refused one must give its reservation back, so the count stays exact.
   */
  @Operation
  public void frame() {
    if (key.tryFrame(4096)) {
      grantedFrames.incrementAndGet();
    }
  }

  /**
   * The hard ceiling is never crossed, and the counter of invocations holds exactly what was
   * granted (every refused reservation undone); the message limit is overshot by at most one
   * message per racing thread, as documented; no message is granted on a key already retired.
   */
  @Validate
  public void neverMoreReservationsThanTheLimits() {
    long frames = EncryptionKey.MAX_INVOCATIONS - ROOM + grantedFrames.get();
    check(frames <= EncryptionKey.MAX_INVOCATIONS, "granted " + frames + " GCM invocations");
    check(invocations() == frames, "counter " + invocations() + " but granted " + frames);
    check(key.messagesUsed() == 1 + grantedMessages.get(), "messages " + key.messagesUsed());
    check(
        key.messagesUsed() <= MAX_MESSAGES + THREADS - 1,
        "messages " + key.messagesUsed() + " over the limit of " + MAX_MESSAGES);
    check(messagesOnARetiredKey.get() == 0, "a message was granted on a retired key");
  }

  /**
   * Interleavings guarded against: two reservations racing for the last invocations (a message and
   * a frame, or two of either); a frame that crosses the byte limit retiring the key while a
   * message checks it; a refused reservation's undo racing another's check.
   */
  @Test
  void theFrameCeilingIsNeverCrossed_andRefusedReservationsAreGivenBack() {
    new ModelCheckingOptions()
        .threads(THREADS)
        .actorsPerThread(2)
        .actorsBefore(1)
        .actorsAfter(1)
        .iterations(15)
        .invocationsPerIteration(400)
        .check(EncryptionKeyReservationModelCheckTest.class);
  }

  private long invocations() {
    try {
      Field f = EncryptionKey.class.getDeclaredField("invocations");
      f.setAccessible(true);
      return ((LongAdder) f.get(key)).sum();
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new AssertionError(what);
    }
  }
}
