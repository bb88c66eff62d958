package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * Once {@code close()} has returned, the audit is final: a background probe that KMS has already
 * answered and recorded (LocalKms holds the answer back after recording it) delivers its audit
 * event before {@code close()} returns, so a reconciliation taken right after close finds every
 * CloudTrail record explained. Guards the interleaving "trail record written, close() returns, the
 * audit snapshot is taken, the probe thread delivers its event" that a loaded machine opens.
 */
class CloseQuiescesIT {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  LocalKms kms;
  String arn;
  KmsClient client;
  final List<AuditEvent> audit = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    kms = LocalKms.start();
    arn = kms.createKey("close");
    client = LocalKmsSupport.client(kms, kms.vendor());
  }

  @AfterEach
  void tearDown() {
    client.close();
    kms.close();
  }

  @Test
  void aProbeRecordedByKmsWhenCloseIsCalled_hasItsAuditEventWhenCloseReturns() throws Exception {
    PanopsCrypto crypto =
        TestCrypto.builder(client, "acme", arn)
            .probeSettings(ProbeSettings.builder().interval(Duration.ofMillis(100)).build())
            .auditSink(audit::add)
            .build();
    crypto.tenant("acme").encrypt("mail".getBytes(), KC, AAD);
    // every Decrypt from here (the probes) is recorded, then answered 700 ms later
    kms.faults().latencyAfterCommit("Decrypt", arn, Duration.ofMillis(700));
    int before = probeRecords().size();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (probeRecords().size() == before && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertTrue(probeRecords().size() > before, "a probe reached KMS");

    crypto.close();
    List<AuditEvent> snapshot = List.copyOf(audit);
    List<TrailEvent> trail = probeRecords();

    for (TrailEvent t : trail) {
      assertTrue(
          snapshot.stream()
              .anyMatch(
                  a ->
                      t.requestId().equals(a.requestId())
                          || (a.callId() != null
                              && t.userAgent() != null
                              && t.userAgent().contains("panops-call/" + a.callId()))),
          "the trail record " + t.requestId() + " has its audit event when close() returns");
    }
    assertEquals(
        trail.size(),
        snapshot.stream().filter(a -> "Decrypt".equals(a.operation())).count(),
        "one audit event per Decrypt KMS recorded, none more");
  }

  /**
   * A revocation listener runs on the probe thread; one that closes the library must not wait for
   * its own thread (which would hold it for the whole bounded wait, or forever if unbounded).
   */
  @Test
  void aListenerThatClosesTheLibraryOnRevocation_doesNotWaitForItsOwnProbeThread()
      throws Exception {
    java.util.concurrent.CompletableFuture<Long> closeNanos =
        new java.util.concurrent.CompletableFuture<>();
    PanopsCrypto[] holder = new PanopsCrypto[1];
    RevocationListener closeOnRevoke =
        e -> {
          if (e.kind() == RevocationEvent.Kind.REVOKED && !closeNanos.isDone()) {
            long t0 = System.nanoTime();
            holder[0].close();
            closeNanos.complete(System.nanoTime() - t0);
          }
        };
    holder[0] =
        TestCrypto.builder(client, "acme", arn)
            .probeSettings(ProbeSettings.builder().interval(Duration.ofMillis(100)).build())
            .addRevocationListener(closeOnRevoke)
            .auditSink(audit::add)
            .build();
    holder[0].tenant("acme").encrypt("mail".getBytes(), KC, AAD);
    kms.disableKey(arn);

    long took = closeNanos.get(20, java.util.concurrent.TimeUnit.SECONDS);
    assertTrue(holder[0].isClosed(), "the listener closed the library");
    assertTrue(
        took < com.panops.crypto.threads.BackgroundThreads.STOP_WAIT.toNanos() / 2,
        "close() from the probe thread did not wait for that thread: " + took / 1_000_000 + " ms");
  }

  private List<TrailEvent> probeRecords() {
    return kms.trail().stream()
        .filter(t -> LocalKms.VENDOR_ROLE_ARN.equals(t.roleArn()))
        .filter(t -> "Decrypt".equals(t.eventName()))
        .toList();
  }
}
