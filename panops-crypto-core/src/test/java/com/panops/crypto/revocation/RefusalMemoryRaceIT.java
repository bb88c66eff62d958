package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.LocalKmsSupport;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.LocalKms;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The refusal memory racing the kill switch, through the real SDK and LocalKms: 4 threads read 40
 * distinct bad rows (each an encrypted data key altered at another byte) and their 40 good rows in
 * turn, while the CMK is disabled for 2 s and enabled again every 2.7 s, with probes every 0.5 s.
 *
 * <p>Interleavings raced: a bad row's first refusal while a disable is being detected (its probe
 * fails and latches, or succeeds just before), readers joining that refusal's probe or arriving
 * after it was judged, judged refusals read while latched (the latch must come first) and after the
 * restore, good rows loading their data key while the key flips, purges on every latch. Every
 * answer is asserted: a bad row never decrypts (only IntegrityException, KeyRevokedException or
 * KmsUnavailableException), a good row decrypts to its own plaintext or fails with a revocation or
 * unavailability, never an IntegrityException, and never succeeds when it began more than 1.6 s
 * (three probe intervals) into a disable that still holds; no thread is stuck.
 */
class RefusalMemoryRaceIT {
  static final KeyContext KC = KeyContext.of("class", "mail");

  static byte[] bitFlipped(byte[] ct, int back) {
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    byte[] bad = ct.clone();
    bad[h.edkOffset() + h.edkLength() - back] ^= 1;
    return bad;
  }

  @Test
  void badAndGoodReads_underDisableEnableCycles() throws Exception {
    try (LocalKms kms = LocalKms.start()) {
      KmsClient client = LocalKmsSupport.client(kms, kms.vendor());
      String arn = kms.createKey("k");
      PanopsCrypto crypto =
          TestCrypto.builder(client, "acme", arn)
              .probeSettings(
                  ProbeSettings.every(Duration.ofMillis(500))
                      .withSettle(2, Duration.ofMillis(600))
                      .withTimeout(Duration.ofSeconds(2)))
              .build();
      TenantCrypto acme = crypto.tenant("acme");
      List<byte[]> good = new ArrayList<>();
      List<byte[]> pts = new ArrayList<>();
      List<byte[]> bad = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        byte[] pt = ("row " + i).getBytes();
        byte[] ct = acme.encrypt(pt, KC, MessageAad.of("row", "" + i));
        pts.add(pt);
        good.add(ct);
        bad.add(bitFlipped(ct, 1 + (i % 30)));
      }
      AtomicBoolean disabled = new AtomicBoolean();
      AtomicLong disabledAt = new AtomicLong(Long.MAX_VALUE);
      ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
      Map<String, AtomicLong> outcomes = new ConcurrentHashMap<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(8).toNanos();
      List<Thread> ts = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        int seed = w;
        ts.add(
            new Thread(
                () -> {
                  for (int i = seed; System.nanoTime() < deadline; i++) {
                    int k = i % 40;
                    boolean readBad = (i & 1) == 0;
                    long began = System.nanoTime();
                    boolean wasDisabledLong =
                        disabled.get() && began - disabledAt.get() > 1_600_000_000L;
                    try {
                      byte[] got =
                          acme.decrypt(
                              (readBad ? bad : good).get(k), KC, MessageAad.of("row", "" + k));
                      if (readBad) problems.add("bad row " + k + " decrypted");
                      else if (!Arrays.equals(got, pts.get(k))) problems.add("wrong plaintext");
                      else if (wasDisabledLong && disabled.get())
                        problems.add("good row decrypted >1.6 s into a disable");
                      outcomes.computeIfAbsent("ok", x -> new AtomicLong()).incrementAndGet();
                    } catch (IntegrityException e) {
                      if (!readBad) problems.add("IntegrityException for a good row: " + e);
                      outcomes
                          .computeIfAbsent(
                              (readBad ? "bad:" : "good:") + "Integrity", x -> new AtomicLong())
                          .incrementAndGet();
                    } catch (KeyRevokedException | KmsUnavailableException e) {
                      outcomes
                          .computeIfAbsent(
                              (readBad ? "bad:" : "good:") + e.getClass().getSimpleName(),
                              x -> new AtomicLong())
                          .incrementAndGet();
                    } catch (Throwable t) {
                      problems.add("undocumented: " + t);
                    }
                  }
                }));
      }
      Thread toggler =
          new Thread(
              () -> {
                try {
                  while (System.nanoTime() < deadline) {
                    Thread.sleep(700);
                    disabledAt.set(System.nanoTime());
                    disabled.set(true);
                    kms.disableKey(arn);
                    Thread.sleep(2_000);
                    disabled.set(false);
                    kms.enableKey(arn);
                    disabledAt.set(Long.MAX_VALUE);
                  }
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              });
      ts.add(toggler);
      ts.forEach(Thread::start);
      for (Thread t : ts) {
        t.join(30_000);
        if (t.isAlive()) problems.add("stuck thread " + t.getName());
      }
      crypto.close();
      client.close();
      assertEquals(List.of(), new ArrayList<>(problems).stream().distinct().limit(10).toList());
      assertTrue(
          outcomes.getOrDefault("bad:Integrity", new AtomicLong()).get() > 0, outcomes.toString());
      assertTrue(outcomes.getOrDefault("ok", new AtomicLong()).get() > 0, outcomes.toString());
      assertTrue(
          outcomes.getOrDefault("bad:KeyRevokedException", new AtomicLong()).get()
                  + outcomes.getOrDefault("good:KeyRevokedException", new AtomicLong()).get()
              > 0,
          "the latch was reached: " + outcomes);
    }
  }
}
