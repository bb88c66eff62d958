package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.LocalKmsSupport;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The latch under AWS's eventual consistency, against LocalKms's propagation mode: for a window
 * after DisableKey and after EnableKey each request sees the old or the new state at random. Once
 * any customer-action failure was observed, no data-key Decrypt is made and nothing is served from
 * cache until the key has settled as enabled; successes seen during the propagation windows lift
 * nothing.
 */
class KillSwitchPropagationIT {
  static final Duration WINDOW = Duration.ofMillis(800);
  static final Duration SETTLE = Duration.ofMillis(1500); // longer than the window, as advised
  static final KeyContext KC = KeyContext.of("class", "mail");

  /** One read: when it started and ended on the wall clock (the clock of the events' times). */
  record Call(Instant start, Instant end, boolean ok) {}

  record Seen(RevocationEvent event, long nanos) {}

  @Test
  void duringPropagation_nothingIsServed_andNoDataKeyDecryptIsMade_untilTheKeySettled()
      throws Exception {
    try (LocalKms kms = LocalKms.builder().propagationWindow(WINDOW).propagationSeed(7).start()) {
      KmsClient client = LocalKmsSupport.client(kms, kms.vendor());
      String arn = kms.createKey("acme");
      Map<String, TenantKeys> dir = Map.of("acme", TenantKeys.of(arn));
      // Messages under many data keys, so that reads keep needing KMS Decrypt.
      List<byte[]> foreign = new ArrayList<>();
      try (PanopsCrypto writer =
          PanopsCrypto.builder()
              .kmsClient(client)
              .allowInsecureLocalKmsEndpoint()
              .tenantDirectory(TenantDirectory.of(dir))
              .probeSettings(ProbeSettings.off())
              .cacheSettings(
                  com.panops.crypto.CacheSettings.builder().encryptMaxMessages(1).build())
              .build()) {
        for (int i = 0; i < 200; i++) {
          foreign.add(writer.tenant("acme").encrypt(new byte[] {(byte) i}, KC, aad(i)));
        }
      }
      Queue<Seen> events = new ConcurrentLinkedQueue<>();
      List<AuditEvent> audit = new CopyOnWriteArrayList<>();
      Queue<Call> calls = new ConcurrentLinkedQueue<>();
      try (PanopsCrypto crypto =
          TestCrypto.builder(client, TenantDirectory.of(dir))
              .probeSettings(
                  ProbeSettings.every(Duration.ofMillis(100))
                      .withSettle(3, SETTLE)
                      .withTimeout(Duration.ofSeconds(2)))
              .cacheSettings(
                  com.panops.crypto.CacheSettings.builder().decryptMaxEntries(20).build())
              .auditSink(audit::add)
              .addRevocationListener(e -> events.add(new Seen(e, System.nanoTime())))
              .build()) {
        var tenant = crypto.tenant("acme");
        for (int i = 0; i < 20; i++) {
          tenant.decrypt(foreign.get(i), KC, aad(i)); // warm: 20 keys cached
        }
        long[] stop = {Long.MAX_VALUE};
        Thread reader =
            new Thread(
                () -> {
                  int i = 0;
                  while (System.nanoTime() < stop[0]) {
                    int n = i++ % 40; // half cached, half needing KMS
                    Instant t0 = Instant.now();
                    boolean ok;
                    try {
                      tenant.decrypt(foreign.get(n), KC, aad(n));
                      ok = true;
                    } catch (KeyRevokedException | KmsUnavailableException e) {
                      ok = false;
                    }
                    calls.add(new Call(t0, Instant.now(), ok));
                  }
                });
        reader.start();
        Thread.sleep(300);
        long disabledAt = System.nanoTime();
        kms.disableKey(arn);
        Seen revoked = awaitEvent(events, RevocationEvent.Kind.REVOKED, 5_000);
        Thread.sleep(WINDOW.toMillis() + 700); // the disable has propagated
        assertTrue(crypto.isRevoked(arn), "successes during the disable's propagation lifted it");
        Instant enabledInstant = Instant.now();
        kms.enableKey(arn);
        Seen restored = awaitEvent(events, RevocationEvent.Kind.RESTORED, 10_000);
        Thread.sleep(200);
        stop[0] = System.nanoTime();
        reader.join(10_000);

        assertTrue(revoked.nanos() > disabledAt);
        // the lift itself (the event's time), not when a listener saw it
        Duration enableToLift = Duration.between(enabledInstant, restored.event().time());
        assertTrue(
            enableToLift.compareTo(WINDOW) >= 0,
            "restored before the enable could have propagated");
        assertTrue(enableToLift.compareTo(SETTLE) >= 0, "restored before settling");
        // Nothing served from cache (or anywhere) between the first latch and the restore, taken
        // at the transitions themselves (the events' times), not when a listener saw them: events
        // are delivered after the transition, so on a loaded machine a read that waited through
        // the settling and succeeded just after the lift can end before the RESTORED listener
        // runs, and a listener's clock would call it served while latched.
        Instant latchedAt = revoked.event().time();
        Instant liftedAt = restored.event().time();
        for (Call c : calls) {
          assertFalse(
              c.ok() && c.start().isAfter(latchedAt) && c.end().isBefore(liftedAt),
              "a decrypt succeeded while latched: " + c);
        }
        // No data-key Decrypt was started between the latch and the restore (the library's own
        // record of every call it made) ...
        Instant from = revoked.event().time();
        Instant to = restored.event().time();
        List<AuditEvent> dataDecrypts =
            audit.stream()
                .filter(a -> a.operation().equals("Decrypt") && "data-key".equals(a.purpose()))
                .toList();
        assertTrue(
            dataDecrypts.stream().noneMatch(a -> a.time().isAfter(from) && a.time().isBefore(to)),
            "a data-key Decrypt was made while latched");
        // ... and every successful data-key Decrypt the customer's trail shows in that window was
        // a request started before the latch (in flight when it was set; its key was discarded).
        Set<String> startedBefore =
            dataDecrypts.stream()
                .filter(a -> !a.time().isAfter(from))
                .map(AuditEvent::requestId)
                .collect(Collectors.toSet());
        List<TrailEvent> trail = kms.trail();
        for (TrailEvent t : trail) {
          boolean dataKey =
              t.eventName().equals("Decrypt")
                  && !"liveness-probe".equals(t.encryptionContext().get("panops:purpose"));
          if (dataKey
              && t.errorCode() == null
              && t.eventTime().isAfter(from)
              && t.eventTime().isBefore(to)) {
            assertTrue(
                startedBefore.contains(t.requestId()), "trail: data Decrypt while latched " + t);
          }
        }
        // The test saw propagation: some probe succeeded after a probe had failed.
        List<TrailEvent> probes =
            trail.stream()
                .filter(t -> t.eventName().equals("Decrypt"))
                .filter(t -> "liveness-probe".equals(t.encryptionContext().get("panops:purpose")))
                .filter(t -> t.eventTime().isAfter(from.minusMillis(1)))
                .toList();
        boolean flapped = false;
        boolean failedOnce = false;
        for (TrailEvent p : probes) {
          if (p.errorCode() != null) {
            failedOnce = true;
          } else if (failedOnce && p.eventTime().isBefore(enabledInstant)) {
            flapped = true;
          } else if (failedOnce
              && p.eventTime().isAfter(enabledInstant)
              && p.eventTime().isBefore(enabledInstant.plus(WINDOW))
              && probes.stream()
                  .anyMatch(
                      q ->
                          q.errorCode() != null
                              && q.eventTime().isAfter(p.eventTime())
                              && q.eventTime().isBefore(enabledInstant.plus(WINDOW)))) {
            flapped = true;
          }
        }
        assertTrue(flapped, "no probe saw the old state during a propagation window: " + probes);
        assertTrue(calls.size() > 100, "reads: " + calls.size());
      }
    }
  }

  static MessageAad aad(int i) {
    return MessageAad.of("row", Integer.toString(i));
  }

  static Seen awaitEvent(Queue<Seen> events, RevocationEvent.Kind kind, long millis)
      throws InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    while (System.nanoTime() < deadline) {
      for (Seen s : events) {
        if (s.event().kind() == kind) {
          return s;
        }
      }
      Thread.sleep(10);
    }
    fail("no " + kind + " within " + millis + " ms");
    return null;
  }
}
