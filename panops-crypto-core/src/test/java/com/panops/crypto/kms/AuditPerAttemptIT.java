package com.panops.crypto.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TrailMatch;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * One audit event per KMS attempt, through the real SDK client with its default retries (3
 * attempts) and LocalKms: each matches the customer's trail one to one, with throttling (LocalKms's
 * request rate), lost responses and timeouts after KMS did the work.
 */
class AuditPerAttemptIT {
  static final Map<String, String> CTX = Map.of("tenant", "acme", "class", "mail");

  LocalKms kms;
  KmsClient client;
  final List<AuditEvent> audit = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    kms.close();
  }

  /** The SDK's standard retries, three attempts, and the given attempt timeout. */
  KmsClient retryingClient(Duration attemptTimeout) {
    return KmsClient.builder()
        .endpointOverride(kms.endpoint())
        .region(Region.of(kms.region()))
        .credentialsProvider(kms.vendor().credentialsProvider())
        .overrideConfiguration(
            o ->
                o.retryStrategy(
                        software
                            .amazon
                            .awssdk
                            .awscore
                            .retry
                            .AwsRetryStrategy
                            .standardRetryStrategy()
                            .toBuilder()
                            .maxAttempts(3)
                            .build())
                    .apiCallAttemptTimeout(attemptTimeout)
                    .apiCallTimeout(Duration.ofSeconds(20)))
        .build();
  }

  KmsGateway gateway() {
    return new KmsGateway(arn -> client, audit::add, CryptoMetrics.none(), Clock.systemUTC(), true);
  }

  List<TrailEvent> vendorTrail() {
    return kms.trail().stream().filter(t -> LocalKms.VENDOR_ROLE_ARN.equals(t.roleArn())).toList();
  }

  String arn;
  KmsGateway g;
  KmsGateway.DataKey dk;

  /**
   * Through {@code localKms}, with the SDK's retries and {@code attemptTimeout}: a new CMK, a
   * gateway, and a data key generated under the CMK (the Decrypt of its blob is the call tested).
   */
  void start(LocalKms localKms, Duration attemptTimeout) {
    kms = localKms;
    client = retryingClient(attemptTimeout);
    arn = kms.createKey("acme");
    g = gateway();
    dk = g.generateDataKey("acme", arn, CTX, "data-key");
  }

  /** The Decrypt of the data key's blob. */
  byte[] decryptTheDataKey() {
    return g.decrypt("acme", arn, dk.encrypted(), CTX, 32, "data-key", null);
  }

  /** The audit events of Decrypt attempts. */
  List<AuditEvent> decryptEvents() {
    return audit.stream().filter(a -> a.operation().equals("Decrypt")).toList();
  }

  /** The vendor's Decrypt records in the customer's trail. */
  List<TrailEvent> trailDecrypts() {
    return vendorTrail().stream().filter(t -> t.eventName().equals("Decrypt")).toList();
  }

  /** Every audit event matches a trail record of the vendor, one to one. */
  void assertTheAuditMatchesTheTrail() {
    assertEquals(List.of(), TrailMatch.problems(audit, kms.trail(), LocalKms.VENDOR_ROLE_ARN));
  }

  @Test
  void lostResponses_areAttemptsWithoutAResponse_andMatchTheirTrailSuccessesByCallId() {
    start(LocalKms.start(), Duration.ofSeconds(2));
    kms.faults().loseResponses("Decrypt", arn, 2);

    byte[] pt = decryptTheDataKey();

    assertTrue(KmsGateway.equal(dk.plaintext(), pt));
    List<AuditEvent> decrypts = decryptEvents();
    assertEquals(3, decrypts.size(), "one event per attempt: " + decrypts);
    for (int i = 0; i < 2; i++) {
      AuditEvent a = decrypts.get(i);
      assertEquals(i + 1, a.attempt());
      assertFalse(a.lastAttempt());
      assertFalse(a.responseReceived());
      assertFalse(a.success());
      assertEquals("NoResponse", a.errorCode());
      assertNull(a.requestId());
    }
    AuditEvent last = decrypts.get(2);
    assertEquals(3, last.attempt());
    assertTrue(last.lastAttempt() && last.responseReceived() && last.success());
    assertEquals(1, decrypts.stream().map(AuditEvent::callId).distinct().count());
    assertNotNull(last.callId());
    // the customer's trail: three successful Decrypts, two of which the library never saw answered
    List<TrailEvent> trailDecrypts = trailDecrypts();
    assertEquals(3, trailDecrypts.size());
    assertTrue(trailDecrypts.stream().noneMatch(TrailEvent::failed));
    assertTrue(
        trailDecrypts.stream()
            .allMatch(t -> t.userAgent().contains("panops-call/" + last.callId())),
        "the call id travels in every attempt's user agent: " + trailDecrypts);
    assertTheAuditMatchesTheTrail();

    // the match can fail: drop the first lost attempt's event and a trail success is unexplained
    List<AuditEvent> missing = new ArrayList<>(audit);
    missing.remove(decrypts.get(0));
    List<String> problems = TrailMatch.problems(missing, kms.trail(), LocalKms.VENDOR_ROLE_ARN);
    assertEquals(1, problems.size(), problems.toString());
    assertTrue(problems.get(0).startsWith("trail record without its audit event"));
  }

  @Test
  void throttledAttempts_eachHaveTheirRequestIdAndErrorCode_andTheCallLatchesThrottled() {
    // a frozen clock: the bucket never refills, so every retry is throttled, deterministically
    LocalKms frozen =
        LocalKms.builder()
            .clock(Clock.fixed(Instant.parse("2030-01-01T00:00:00Z"), ZoneOffset.UTC))
            .requestRate(1, 1)
            .start();
    start(frozen, Duration.ofSeconds(2)); // its GenerateDataKey takes the token

    KmsCallException e = assertThrows(KmsCallException.class, this::decryptTheDataKey);

    assertEquals(RevocationReason.THROTTLED, e.reason());
    List<AuditEvent> decrypts = decryptEvents();
    assertEquals(3, decrypts.size(), "the SDK's three attempts: " + decrypts);
    for (AuditEvent a : decrypts) {
      assertEquals("ThrottlingException", a.errorCode());
      assertTrue(a.responseReceived());
      assertNotNull(a.requestId());
      assertEquals(a.attempt() == 3, a.lastAttempt());
    }
    assertEquals(
        3, vendorTrail().stream().filter(t -> "ThrottlingException".equals(t.errorCode())).count());
    assertTheAuditMatchesTheTrail();
  }

  @Test
  void timeoutsAfterKmsDidTheWork_areAttemptsWithoutAResponse_eachWithItsTrailSuccess() {
    start(LocalKms.start(), Duration.ofMillis(300));
    kms.faults().latencyAfterCommit("Decrypt", arn, Duration.ofSeconds(1));

    KmsCallException e = assertThrows(KmsCallException.class, this::decryptTheDataKey);

    assertEquals(RevocationReason.UNAVAILABLE, e.reason());
    List<AuditEvent> decrypts = decryptEvents();
    assertEquals(3, decrypts.size(), decrypts.toString());
    assertTrue(decrypts.stream().noneMatch(AuditEvent::responseReceived));
    assertTrue(decrypts.stream().noneMatch(AuditEvent::success));
    List<TrailEvent> trailDecrypts = trailDecrypts();
    assertEquals(3, trailDecrypts.size());
    assertTrue(trailDecrypts.stream().noneMatch(TrailEvent::failed), "KMS did each one");
    assertTheAuditMatchesTheTrail();
  }

  @Test
  void aConnectionDroppedBeforeKms_isAnAttemptWithoutAResponse_andWithoutATrailRecord() {
    start(LocalKms.start(), Duration.ofSeconds(2));
    kms.faults().dropConnection("Decrypt", arn);

    assertThrows(KmsCallException.class, this::decryptTheDataKey);

    List<AuditEvent> decrypts = decryptEvents();
    assertEquals(3, decrypts.size());
    assertTrue(decrypts.stream().noneMatch(AuditEvent::responseReceived));
    assertEquals(0, trailDecrypts().size());
    assertTheAuditMatchesTheTrail();
  }
}
