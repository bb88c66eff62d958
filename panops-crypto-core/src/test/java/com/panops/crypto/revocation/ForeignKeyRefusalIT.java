package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.LocalKmsSupport;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.adapter.AdapterAccess;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.TrailEvent;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * Refusals that KMS makes about another key than the one asked for, and the re-wrap's refusals of
 * one ciphertext: an encrypted data key altered to name a deleted CMK gets that key's
 * NotFoundException, which must be judged by a probe of the key asked for, not latch it (for
 * Decrypt and for ReEncrypt, where it latched both CMKs); re-running a re-wrap over a bad row costs
 * no KMS call once refused; an interrupted reader never owns the shared per-ciphertext probe (its
 * probe would be aborted unasked, and its "false" shared).
 *
 * <p>Interleavings raced in the re-wrap loop: several threads re-wrap the same bad row while its
 * first refusal's probe runs (they take its outcome) and after it was judged (answered from
 * memory), while another tenant on the current CMK reads from the warm cache.
 */
class ForeignKeyRefusalIT {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  static final class MutableClock extends Clock {
    final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.now().plus(offset.get());
    }
  }

  final MutableClock kmsClock = new MutableClock();
  LocalKms kms;
  KmsClient client;
  final List<PanopsCrypto> built = new ArrayList<>();
  final List<RevocationEvent> events = new CopyOnWriteArrayList<>();

  PanopsCrypto build(Map<String, TenantKeys> dir) {
    return build(dir, client);
  }

  PanopsCrypto build(Map<String, TenantKeys> dir, KmsClient c) {
    PanopsCrypto p =
        TestCrypto.builder(c, TenantDirectory.of(dir))
            .probeSettings(ProbeSettings.every(Duration.ofMinutes(5)))
            .addRevocationListener(events::add)
            .build();
    built.add(p);
    return p;
  }

  @AfterEach
  void tearDown() {
    Thread.interrupted();
    built.forEach(PanopsCrypto::close);
    if (client != null) client.close();
    if (kms != null) kms.close();
  }

  static UUID uuidOf(String arn) {
    return UUID.fromString(arn.substring(arn.indexOf("key/") + 4));
  }

  /** {@code ct} whose EDK (a LocalKms blob) names {@code key} instead of its own CMK. */
  static byte[] edkNaming(byte[] ct, String key) {
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    byte[] bad = ct.clone();
    UUID u = uuidOf(key);
    ByteBuffer.wrap(bad, h.edkOffset() + 1, 16)
        .putLong(u.getMostSignificantBits())
        .putLong(u.getLeastSignificantBits());
    return bad;
  }

  static byte[] bitFlipped(byte[] ct, int back) {
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    byte[] bad = ct.clone();
    bad[h.edkOffset() + h.edkLength() - back] ^= 1;
    return bad;
  }

  /** A key that KMS has deleted for real (scheduled, then its deletion date passed). */
  /** acme's message under its old key, and an instance after acme's key rotation. */
  record Rotated(String oldKey, String newKey, byte[] ct, PanopsCrypto crypto) {}

  /**
   * acme encrypts a message under its key; then acme moves to a new key (the old one decrypt-only),
   * which globex shares, in a new instance.
   */
  Rotated rotatedAfterAMessage() {
    String oldKey = kms.createKey("acme old");
    String newKey = kms.createKey("acme new, shared with globex");
    byte[] ct;
    try (PanopsCrypto before = TestCrypto.builder(client, "acme", oldKey).build()) {
      ct = before.tenant("acme").encrypt("mail".getBytes(), KC, AAD);
    }
    PanopsCrypto rotated =
        build(
            Map.of(
                "acme", TenantKeys.of(newKey, List.of(oldKey)), "globex", TenantKeys.of(newKey)));
    return new Rotated(oldKey, newKey, ct, rotated);
  }

  String deletedKey() {
    String gone = kms.createKey("deleted long ago");
    kms.scheduleKeyDeletion(gone, 7);
    kmsClock.offset.set(Duration.ofDays(8));
    kms.createKey("any request: LocalKms purges keys past their deletion date");
    kmsClock.offset.set(Duration.ZERO);
    return gone;
  }

  /** An EDK altered to name a deleted CMK: an integrity failure; the live, shared CMK stays up. */
  @Test
  void decrypt_ofAnEdkNamingADeletedKey_isAnIntegrityFailure_notALatchOfTheLiveCmk() {
    kms = LocalKms.builder().clock(kmsClock).start();
    client = LocalKmsSupport.client(kms, kms.vendor());
    String shared = kms.createKey("shared by acme and globex");
    String gone = deletedKey();
    PanopsCrypto crypto =
        build(Map.of("acme", TenantKeys.of(shared), "globex", TenantKeys.of(shared)));
    byte[] ct = crypto.tenant("acme").encrypt("x".getBytes(), KC, AAD);
    byte[] globexCt = crypto.tenant("globex").encrypt("y".getBytes(), KC, AAD);
    byte[] bad = edkNaming(ct, gone);
    RuntimeException e =
        assertThrows(RuntimeException.class, () -> crypto.tenant("acme").decrypt(bad, KC, AAD));
    assertFalse(crypto.isRevoked(shared), "one attacker-written row latched the shared CMK");
    assertInstanceOf(IntegrityException.class, e);
    assertArrayEquals(
        "y".getBytes(), crypto.tenant("globex").decrypt(globexCt, KC, AAD), "globex unaffected");
  }

  /**
   * A re-wrap of that EDK: KMS's NotFoundException names neither key, both answer probes: an
   * integrity failure, and neither CMK is latched.
   */
  @Test
  void rewrap_ofAnEdkNamingADeletedKey_latchesNeitherKey() {
    kms = LocalKms.builder().clock(kmsClock).start();
    client = LocalKmsSupport.client(kms, kms.vendor());
    String gone = deletedKey();
    Rotated r = rotatedAfterAMessage();
    String oldKey = r.oldKey();
    String newKey = r.newKey();
    PanopsCrypto rotated = r.crypto();
    byte[] bad = edkNaming(r.ct(), gone);
    MessageHeader h = MessageHeader.parse(bad, 0, bad.length);
    RuntimeException e =
        assertThrows(
            RuntimeException.class,
            () -> AdapterAccess.rewrapHeader(rotated.tenant("acme"), h, KC));
    System.out.println(
        "[rewrap deleted-key EDK] "
            + e
            + " oldLatched="
            + rotated.isRevoked(oldKey)
            + " newLatched="
            + rotated.isRevoked(newKey)
            + " events="
            + events);
    assertFalse(rotated.isRevoked(newKey), "the current CMK (shared with globex) was latched");
    assertFalse(rotated.isRevoked(oldKey), "the old CMK was latched");
    assertInstanceOf(IntegrityException.class, e);
  }

  /**
   * Re-wrap of one bad row in retry loops under LocalKms's quota: one ReEncrypt and one probe in
   * all, every attempt an integrity failure, nothing latched, the other tenant served throughout.
   */
  @Test
  void rewrapLoop_onOneBadRow_costsBoundedKmsCalls_andLatchesNothing() throws Exception {
    kms = LocalKms.builder().requestRate(100, 100).start();
    client = LocalKmsSupport.client(kms, kms.vendor());
    Rotated r = rotatedAfterAMessage();
    PanopsCrypto rotated = r.crypto();
    byte[] ct = r.ct();
    TenantCrypto globex = rotated.tenant("globex");
    byte[] gct = globex.encrypt("g".getBytes(), KC, AAD);
    globex.decrypt(gct, KC, AAD); // warm
    byte[] bad = bitFlipped(ct, 20);
    MessageHeader h = MessageHeader.parse(bad, 0, bad.length);
    Instant start = Instant.now();
    long deadline = System.nanoTime() + Duration.ofSeconds(6).toNanos();
    Map<String, AtomicLong> outcomes = new ConcurrentHashMap<>();
    int loops = 4;
    AtomicLong globexOk = new AtomicLong();
    AtomicLong globexRefused = new AtomicLong();
    List<Thread> ts = new ArrayList<>();
    for (int i = 0; i < loops; i++) {
      ts.add(
          new Thread(
              () -> {
                while (System.nanoTime() < deadline) {
                  try {
                    AdapterAccess.rewrapHeader(rotated.tenant("acme"), h, KC);
                    outcomes
                        .computeIfAbsent("REWRAPPED?!", k -> new AtomicLong())
                        .incrementAndGet();
                  } catch (RuntimeException e) {
                    outcomes
                        .computeIfAbsent(e.getClass().getSimpleName(), k -> new AtomicLong())
                        .incrementAndGet();
                  }
                }
              }));
    }
    ts.add(
        new Thread(
            () -> {
              while (System.nanoTime() < deadline) {
                try {
                  globex.decrypt(gct, KC, AAD);
                  globexOk.incrementAndGet();
                } catch (RuntimeException e) {
                  globexRefused.incrementAndGet();
                }
              }
            }));
    ts.forEach(Thread::start);
    for (Thread t : ts) t.join();
    List<TrailEvent> trail = kms.trail();
    long reEncrypts =
        trail.stream()
            .filter(e -> !e.eventTime().isBefore(start))
            .filter(e -> e.eventName().equals("ReEncrypt"))
            .count();
    long probes =
        trail.stream()
            .filter(e -> !e.eventTime().isBefore(start))
            .filter(e -> e.eventName().equals("Decrypt"))
            .count();
    long throttled =
        trail.stream()
            .filter(e -> !e.eventTime().isBefore(start))
            .filter(e -> "ThrottlingException".equals(e.errorCode()))
            .count();
    System.out.println(
        "[rewrap loop] outcomes="
            + outcomes
            + " ReEncrypt="
            + reEncrypts
            + " probe Decrypts="
            + probes
            + " throttled="
            + throttled
            + " globex ok="
            + globexOk
            + " refused="
            + globexRefused
            + " events="
            + events.size());
    // ReEncrypt has no single flight: threads that start before the first refusal is remembered
    // each ask once; none asks again
    assertTrue(reEncrypts <= loops, "ReEncrypts for one bad row: " + reEncrypts);
    assertTrue(probes <= 3, "probe Decrypts for one bad row: " + probes);
    assertEquals(0, throttled, "KMS never throttled");
    assertTrue(
        outcomes.getOrDefault("IntegrityException", new AtomicLong()).get() > 100,
        outcomes.toString());
    assertEquals(
        Set.of("IntegrityException"), outcomes.keySet(), "every attempt refused as a bad row");
    assertEquals(List.of(), events, "latches");
    assertEquals(0, globexRefused.get(), "the other tenant was refused");
  }

  /**
   * A reader interrupted as KMS's refusal arrives does not own the shared per-ciphertext probe (its
   * probe would be aborted without asking KMS): another thread's bad row right after it is still an
   * integrity failure, not "KMS unavailable".
   */
  @Test
  void anInterruptedReader_doesNotPoisonTheSharedPerCiphertextProbe() throws Exception {
    kms = LocalKms.start();
    AtomicReference<Thread> victim = new AtomicReference<>();
    ExecutionInterceptor interrupter =
        new ExecutionInterceptor() {
          @Override
          public Throwable modifyException(
              Context.FailedExecution context, ExecutionAttributes attrs) {
            if (Thread.currentThread() == victim.get()
                && context.exception() instanceof KmsException) {
              Thread.currentThread().interrupt();
            }
            return context.exception();
          }
        };
    client = LocalKmsSupport.client(kms, kms.vendor(), interrupter);
    String arn = kms.createKey("k");
    PanopsCrypto crypto = build(Map.of("acme", TenantKeys.of(arn)));
    TenantCrypto acme = crypto.tenant("acme");
    byte[] ct1 = acme.encrypt("a".getBytes(), KC, AAD);
    byte[] ct2 = acme.encrypt("b".getBytes(), KC, AAD);
    byte[] bad1 = bitFlipped(ct1, 20);
    byte[] bad2 = bitFlipped(ct2, 20);
    AtomicReference<Throwable> first = new AtomicReference<>();
    Thread t =
        new Thread(
            () -> {
              try {
                acme.decrypt(bad1, KC, AAD);
              } catch (Throwable e) {
                first.set(e);
              }
            });
    victim.set(t);
    t.start();
    t.join();
    victim.set(null);
    RuntimeException second =
        assertThrows(RuntimeException.class, () -> acme.decrypt(bad2, KC, AAD));
    System.out.println("[interrupted reader] first=" + first.get() + " second=" + second);
    assertFalse(crypto.isRevoked(arn));
    assertInstanceOf(
        IntegrityException.class,
        second,
        "another thread's bad row, right after an interrupted reader's refusal");
  }

  /**
   * A ReEncrypt refused with AWS's message that names no key ("The ciphertext refers to a customer
   * master key that does not exist, ... or you are not allowed to access"), as for a policy that
   * grants Decrypt but not ReEncrypt*, while both keys answer probes: the call fails (not an
   * integrity failure, nothing latched, nothing remembered), and the row still decrypts.
   */
  @Test
  void aReEncryptRefusalNamingNoKey_failsThatCallOnly_andTheRowStillDecrypts() {
    kms = LocalKms.start();
    ExecutionInterceptor denyReEncrypt =
        new ExecutionInterceptor() {
          @Override
          public void beforeExecution(Context.BeforeExecution c, ExecutionAttributes a) {
            if (c.request() instanceof software.amazon.awssdk.services.kms.model.ReEncryptRequest) {
              throw (software.amazon.awssdk.services.kms.model.KmsException)
                  software.amazon.awssdk.services.kms.model.KmsException.builder()
                      .statusCode(400)
                      .awsErrorDetails(
                          software.amazon.awssdk.awscore.exception.AwsErrorDetails.builder()
                              .errorCode("AccessDeniedException")
                              .errorMessage(
                                  "The ciphertext refers to a customer master key that does not"
                                      + " exist, does not exist in this region, or you are not"
                                      + " allowed to access.")
                              .build())
                      .message("AccessDenied")
                      .build();
            }
          }
        };
    client = LocalKmsSupport.client(kms, kms.vendor(), denyReEncrypt);
    String oldKey = kms.createKey("acme old");
    String newKey = kms.createKey("acme new");
    byte[] ct =
        build(Map.of("acme", TenantKeys.of(oldKey)))
            .tenant("acme")
            .encrypt("mail".getBytes(), KC, AAD);
    PanopsCrypto rotated = build(Map.of("acme", TenantKeys.of(newKey, List.of(oldKey))));
    MessageHeader h = MessageHeader.parse(ct, 0, ct.length);
    for (int i = 0; i < 2; i++) {
      RuntimeException e =
          assertThrows(
              RuntimeException.class,
              () -> AdapterAccess.rewrapHeader(rotated.tenant("acme"), h, KC));
      assertInstanceOf(KmsUnavailableException.class, e, "attempt " + i);
      assertTrue(e.getMessage().contains("naming neither KMS key"), e.getMessage());
    }
    assertFalse(rotated.isRevoked(oldKey));
    assertFalse(rotated.isRevoked(newKey));
    assertEquals(List.of(), events);
    assertArrayEquals(
        "mail".getBytes(),
        rotated.tenant("acme").decrypt(ct, KC, AAD),
        "a re-wrap's refusal never answers a Decrypt");
  }
}
