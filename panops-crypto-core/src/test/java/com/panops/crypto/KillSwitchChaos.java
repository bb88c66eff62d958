package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.FakeKmsClient;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import java.util.function.ToLongFunction;

/**
 * What the kill-switch stress tests share: a logical clock ({@link #tick()}) that orders the events
 * of every thread; a chaos loop that disables and re-enables a CMK on the fake KMS, recording each
 * disabled window; the ticks of the library's REVOKED events (its latches); the reads timed on that
 * clock; and the checks over them. One instance per test run.
 */
final class KillSwitchChaos {
  static final KeyContext KC = KeyContext.of("class", "mail");

  /** The key was disabled from tick {@code disabledAt} and still disabled at {@code enabledAt}. */
  record Window(long disabledAt, long enabledAt) {}

  /** A call that started and ended at these ticks. */
  record Call(long start, long end) {}

  /** The first latch inside a disabled window, and when that window ended. */
  record Latched(long latchedAt, long enabledAt) {
    /** Whether a call that started and ended at these ticks ran wholly while latched. */
    boolean covers(long start, long end) {
      return start > latchedAt && end < enabledAt;
    }
  }

  /** A ciphertext the library returned, with what it must decrypt to. */
  record Sealed(String tenant, byte[] ct, byte[] pt, MessageAad aad) {}

  /** A pause of the chaos thread, drawn from its random sequence. */
  interface Pause {
    void sleep(SplittableRandom r) throws InterruptedException;
  }

  /** One of the ways a tenant encrypts. */
  interface Encrypt {
    byte[] encrypt(TenantCrypto t, byte[] plaintext, KeyContext kc, MessageAad aad);
  }

  /** A read of a plaintext (byte array or stream). */
  interface Read {
    byte[] plaintext() throws IOException;
  }

  /** Tenants a and b, both with {@code arn} as their key. */
  static TenantDirectory twoTenantsSharing(String arn) {
    return TenantDirectory.of(Map.of("a", TenantKeys.of(arn), "b", TenantKeys.of(arn)));
  }

  /**
   * 300 ciphertexts by {@code writer}, for tenants a and b in turn, of random plaintexts shorter
   * than {@code maxLength} bytes (from a fixed seed), each under its own row AAD.
   */
  static List<Sealed> writeForeign(PanopsCrypto writer, int maxLength, Encrypt how) {
    List<Sealed> foreign = new ArrayList<>();
    SplittableRandom r = new SplittableRandom(1);
    for (int i = 0; i < 300; i++) {
      String t = i % 2 == 0 ? "a" : "b";
      byte[] pt = new byte[r.nextInt(maxLength)];
      r.nextBytes(pt);
      MessageAad aad = MessageAad.of("row", "f" + i);
      foreign.add(new Sealed(t, how.encrypt(writer.tenant(t), pt, KC, aad), pt, aad));
    }
    return foreign;
  }

  private final AtomicLong ticks = new AtomicLong();
  final List<Long> revokedAt = new CopyOnWriteArrayList<>();
  final List<Window> windows = new CopyOnWriteArrayList<>();
  final Queue<Call> decrypted = new ConcurrentLinkedQueue<>();
  final Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();

  /** The next tick of the logical clock. */
  long tick() {
    return ticks.incrementAndGet();
  }

  /** The current tick, without moving the clock. */
  long now() {
    return ticks.get();
  }

  /** A listener that records the tick of every REVOKED event. */
  RevocationListener latchRecorder() {
    return e -> {
      if (e.kind() == RevocationEvent.Kind.REVOKED) {
        revokedAt.add(tick());
      }
    };
  }

  /**
   * The chaos thread: from 200 ms in until 300 ms before {@code deadline}, disables {@code arn},
   * waits {@code disabled}, enables it again and waits {@code enabled}; every window is recorded.
   */
  Thread chaos(
      FakeKmsClient fake,
      String arn,
      long deadline,
      SplittableRandom r,
      Pause disabled,
      Pause enabled) {
    return new Thread(
        () -> {
          try {
            Thread.sleep(200);
            while (System.nanoTime() < deadline - 300_000_000L) {
              fake.disable(arn);
              long d = tick(); // after: at d the key is disabled
              disabled.sleep(r);
              long e = tick(); // before: up to e the key is still disabled
              fake.enable(arn);
              windows.add(new Window(d, e));
              enabled.sleep(r);
            }
          } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
          }
        },
        "chaos");
  }

  /**
   * The chaos thread of the mixed-workload tests: the key is disabled for 60..260 ms at a time, and
   * enabled for 300..600 ms between, from a fixed seed.
   */
  Thread chaos(FakeKmsClient fake, String arn, long deadline) {
    return chaos(
        fake,
        arn,
        deadline,
        new SplittableRandom(99),
        r -> Thread.sleep(60 + r.nextInt(200)),
        r -> Thread.sleep(300 + r.nextInt(300)));
  }

  /**
   * Probes fast enough to latch inside a disabled window: every 50 ms, a restore settled by 2
   * successes 100 ms apart, 1 s to answer.
   */
  static ProbeSettings fastProbes() {
    return ProbeSettings.every(Duration.ofMillis(50))
        .withSettle(2, Duration.ofMillis(100))
        .withTimeout(Duration.ofSeconds(1));
  }

  /**
   * {@code n} worker threads, worker-0 .. worker-(n-1), each running {@code work} with its index.
   */
  static List<Thread> workers(int n, LongConsumer work) {
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < n; w++) {
      long seed = w;
      threads.add(new Thread(() -> work.accept(seed), "worker-" + w));
    }
    return threads;
  }

  /** Starts every thread, then waits for each (bounded by the run plus 30 s): none may be stuck. */
  static void runAll(List<Thread> threads, Duration run) throws InterruptedException {
    threads.forEach(Thread::start);
    for (Thread t : threads) {
      t.join(run.toMillis() + 30_000);
      assertFalse(t.isAlive(), t.getName() + " is stuck");
    }
  }

  /**
   * Reads between two ticks; a plaintext other than {@code expected} is an unexpected outcome
   * (named {@code what}); the call is recorded in {@link #decrypted}.
   */
  void timedRead(byte[] expected, String what, Read read) throws IOException {
    long start = tick();
    byte[] got = read.plaintext();
    long end = tick();
    if (!Arrays.equals(expected, got)) {
      unexpected.add(new AssertionError(what));
    }
    decrypted.add(new Call(start, end));
  }

  /** A timed decryption of {@code s} by {@code crypto}, for its own tenant. */
  void decryptOne(PanopsCrypto crypto, Sealed s) throws IOException {
    timedRead(
        s.pt(), "wrong plaintext", () -> crypto.tenant(s.tenant()).decrypt(s.ct(), KC, s.aad()));
  }

  /** The first latch inside each disabled window that saw one, with that window's end. */
  List<Latched> latchedWindows() {
    List<Latched> latched = new ArrayList<>();
    for (Window w : windows) {
      long first = Long.MAX_VALUE;
      for (long r : revokedAt) {
        if (r > w.disabledAt() && r < w.enabledAt()) {
          first = Math.min(first, r);
        }
      }
      if (first != Long.MAX_VALUE) {
        latched.add(new Latched(first, w.enabledAt()));
      }
    }
    return latched;
  }

  /**
   * No call that started after the first latch inside a disabled window and ended before the key
   * was enabled again succeeded: once latched there, nothing may lift the latch in time. Every call
   * in {@code succeeded} returned its plaintext; {@code what} names them. Returns how many windows
   * saw a latch.
   */
  <T> int assertNothingSucceededWhileLatched(
      Collection<T> succeeded, ToLongFunction<T> start, ToLongFunction<T> end, String what) {
    List<Latched> latched = latchedWindows();
    for (Latched l : latched) {
      for (T c : succeeded) {
        assertFalse(
            l.covers(start.applyAsLong(c), end.applyAsLong(c)),
            what
                + " while latched: call "
                + c
                + ", latched at "
                + l.latchedAt()
                + ", enabled at "
                + l.enabledAt());
      }
    }
    return latched.size();
  }

  /** {@link #assertNothingSucceededWhileLatched} for the reads of {@link #decrypted}. */
  int assertNoPlaintextWhileLatched() {
    return assertNothingSucceededWhileLatched(
        decrypted, Call::start, Call::end, "plaintext returned");
  }

  /**
   * Every ciphertext the library returned decrypts, with the real data key, for a fresh reader
   * built by {@code reader}.
   */
  static void assertEachDecrypts(PanopsCrypto.Builder reader, Collection<Sealed> sealed) {
    try (PanopsCrypto verifier = reader.build()) {
      for (Sealed s : sealed) {
        assertArrayEquals(
            s.pt(), verifier.tenant(s.tenant()).decrypt(s.ct(), KC, s.aad()), "sealed " + s);
      }
    }
  }

  /** No worker met an outcome the library does not document. */
  void assertNothingUnexpected() {
    assertTrue(unexpected.isEmpty(), "undocumented outcomes: " + describeUnexpected());
  }

  /** How many unexpected outcomes, with the stack traces of the first five. */
  String describeUnexpected() {
    StringBuilder sb = new StringBuilder();
    unexpected.stream()
        .limit(5)
        .forEach(
            t -> {
              StringWriter w = new StringWriter();
              t.printStackTrace(new PrintWriter(w));
              sb.append('\n').append(w.toString(), 0, Math.min(1500, w.toString().length()));
            });
    return unexpected.size() + " " + sb;
  }
}
