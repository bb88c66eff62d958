package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.CacheSettings;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.LocalKmsSupport;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.TrailMatch;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The kill switch and the audit with everything that makes KMS differ from a quiet test server
 * switched on at once: propagation windows (seeded), KMS's request rate (throttling), the SDK's
 * default retries and responses lost after KMS did the work. The key latches as DISABLED once the
 * disable has propagated and nothing is decrypted while latched; it is restored after the enable;
 * and every CloudTrail record of the vendor has exactly one audit event, attempt by attempt.
 */
class KillSwitchUnderFaultsIT {
  static final Duration WINDOW = Duration.ofMillis(500);
  static final Duration INTERVAL = Duration.ofMillis(100);
  static final Duration SETTLE = Duration.ofMillis(1000);
  static final KeyContext KC = KeyContext.of("class", "mail");

  @Test
  void propagationThrottlingRetriesAndLostResponses_theKillSwitchHolds_andTheAuditMatches()
      throws Exception {
    try (LocalKms kms = LocalKms.builder().propagationWindow(WINDOW).propagationSeed(12).start()) {
      KmsClient client = LocalKmsSupport.client(kms, kms.vendor()); // the SDK's default retries
      String arn = kms.createKey("acme");
      Map<String, TenantKeys> dir = Map.of("acme", TenantKeys.of(arn));
      List<byte[]> messages = new ArrayList<>();
      // The writer's calls, by call id: its close() abandons a refresh ahead (a key per message
      // rolls at once) whose GenerateDataKey LocalKms may record after the mark below; that record
      // is the writer's, audited by its own sink, not the reader's under test.
      Set<String> writerCalls = ConcurrentHashMap.newKeySet();
      try (PanopsCrypto writer =
          TestCrypto.unprobed(client, dir)
              .auditSink(e -> writerCalls.add(e.callId()))
              .cacheSettings(CacheSettings.builder().encryptMaxMessages(1).build())
              .build()) {
        for (int i = 0; i < 30; i++) {
          messages.add(writer.tenant("acme").encrypt(new byte[] {(byte) i}, KC, aad(i)));
        }
      }
      kms.requestRate(40, 8); // KMS's quota from here on
      int mark = kms.trail().size();
      List<AuditEvent> audit = new CopyOnWriteArrayList<>();
      BlockingQueue<RevocationEvent> events = new LinkedBlockingQueue<>();
      try (PanopsCrypto crypto =
          TestCrypto.builder(client, TenantDirectory.of(dir))
              .probeSettings(
                  ProbeSettings.every(INTERVAL)
                      .withSettle(3, SETTLE)
                      .withTimeout(Duration.ofSeconds(5)))
              .cacheSettings(CacheSettings.builder().decryptMaxEntries(5).build())
              .auditSink(audit::add)
              .addRevocationListener(events::add)
              .build()) {
        var tenant = crypto.tenant("acme");
        kms.faults().loseResponses("Decrypt", arn, 3); // KMS decrypts, the answers are lost
        int ok = 0;
        for (int i = 0; i < 30; i++) { // more than the rate allows: some attempts are throttled
          try {
            assertArrayEquals(new byte[] {(byte) i}, tenant.decrypt(messages.get(i), KC, aad(i)));
            ok++;
          } catch (KeyRevokedException | KmsUnavailableException e) {
            // a call throttled past its retries latches until a probe succeeds
          }
        }
        assertTrue(ok > 0, "some reads succeeded");

        kms.disableKey(arn);
        RevocationEvent disabled = await(events, RevocationReason.DISABLED, 10_000);
        assertNotNull(disabled, "never latched as DISABLED");
        Thread.sleep(WINDOW.toMillis() + 3 * INTERVAL.toMillis()); // the disable has propagated
        int auditAtLatch = audit.size();
        for (int i = 0; i < 30; i++) {
          int n = i;
          KeyRevokedException e =
              assertThrows(
                  KeyRevokedException.class, () -> tenant.decrypt(messages.get(n), KC, aad(n)));
          assertEquals(RevocationReason.DISABLED, e.reason());
        }
        assertTrue(
            audit.subList(auditAtLatch, audit.size()).stream()
                .allMatch(a -> "probe".equals(a.purpose())),
            "while latched only probes call KMS");

        events.clear();
        kms.enableKey(arn);
        RevocationEvent restored = awaitKind(events, RevocationEvent.Kind.RESTORED, 15_000);
        assertNotNull(restored, "never restored after the enable");
        assertArrayEquals(new byte[] {0}, tenant.decrypt(messages.get(0), KC, aad(0)));
      }
      List<TrailEvent> trail =
          kms.trail().subList(mark, kms.trail().size()).stream()
              .filter(t -> callIdOf(t) == null || !writerCalls.contains(callIdOf(t)))
              .toList();
      assertTrue(
          trail.stream().anyMatch(t -> "ThrottlingException".equals(t.errorCode())),
          "the request rate throttled something");
      assertTrue(
          audit.stream().anyMatch(a -> !a.responseReceived() && "NoResponse".equals(a.errorCode())),
          "a response was lost and retried");
      assertTrue(audit.stream().anyMatch(a -> a.attempt() > 1), "the SDK retried");
      assertEquals(List.of(), TrailMatch.problems(audit, trail, LocalKms.VENDOR_ROLE_ARN));
    }
  }

  /** The call id a library call sends in its user agent ({@code panops-call/<id>}), or null. */
  private static String callIdOf(TrailEvent t) {
    String ua = t.userAgent();
    int at = ua == null ? -1 : ua.indexOf("panops-call/");
    if (at < 0) {
      return null;
    }
    int end = ua.indexOf(' ', at);
    return ua.substring(at + "panops-call/".length(), end < 0 ? ua.length() : end);
  }

  private static RevocationEvent await(
      BlockingQueue<RevocationEvent> q, RevocationReason reason, long millis)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (System.nanoTime() < deadline) {
      RevocationEvent e = q.poll(50, TimeUnit.MILLISECONDS);
      if (e != null && e.kind() == RevocationEvent.Kind.REVOKED && e.reason() == reason) {
        return e;
      }
    }
    return null;
  }

  private static RevocationEvent awaitKind(
      BlockingQueue<RevocationEvent> q, RevocationEvent.Kind kind, long millis)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (System.nanoTime() < deadline) {
      RevocationEvent e = q.poll(50, TimeUnit.MILLISECONDS);
      if (e != null && e.kind() == kind) {
        return e;
      }
    }
    return null;
  }

  static MessageAad aad(int i) {
    return MessageAad.of("row", Integer.toString(i));
  }
}
