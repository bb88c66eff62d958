package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.client;
import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
import static com.panops.crypto.testkit.KmsTestSupport.policyAllowingOnly;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.KmsTestSupport.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.AwsResponse;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KeyState;

/**
 * Propagation mode (eventual consistency) through the real KmsClient: within the window after a key
 * change each request independently sees the old or the new state; after it only the new one. The
 * clock is injected and moved by hand, and the choices are seeded, so every run sees the same
 * sequence.
 */
class LocalKmsPropagationIT {

  private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");
  private static final Duration WINDOW = Duration.ofSeconds(30);
  private static final long SEED = 20261130L;
  private static final int REQUESTS = 40;

  private final List<AutoCloseable> open = new ArrayList<>();
  private MutableClock clock;
  private LocalKms kms;
  private KmsClient vendor;
  private KmsClient admin;
  private String key;

  private void start(LocalKms.Builder builder) {
    clock = new MutableClock(T0);
    kms = builder.clock(clock).start();
    vendor = client(kms, kms.vendor());
    admin = client(kms, kms.admin());
    open.add(vendor);
    open.add(admin);
    open.add(kms);
  }

  private void start() {
    start(LocalKms.builder().propagationWindow(WINDOW).propagationSeed(SEED));
  }

  @AfterEach
  void stop() throws Exception {
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  /** The error code of one call, or null if it succeeded; checked against the trail's record. */
  private String outcome(java.util.function.Supplier<? extends AwsResponse> call) {
    String requestId;
    String code;
    try {
      requestId = call.get().responseMetadata().requestId();
      code = null;
    } catch (AwsServiceException e) {
      requestId = e.requestId();
      code = errorCode(e);
    }
    String finalRequestId = requestId;
    TrailEvent event =
        kms.trail().stream()
            .filter(t -> finalRequestId.equals(t.requestId()))
            .findFirst()
            .orElseThrow(() -> new AssertionError("no trail event for " + finalRequestId));
    assertEquals(code, event.errorCode(), "the trail records what the request saw");
    return code;
  }

  private List<String> decrypts(GenerateDataKeyResponse dataKey, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(outcome(() -> vendor.decrypt(r -> r.ciphertextBlob(dataKey.ciphertextBlob()))));
    }
    return out;
  }

  private List<String> generates(int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(outcome(() -> dataKey(key)));
    }
    return out;
  }

  private static Map<String, Long> histogram(List<String> outcomes) {
    return outcomes.stream()
        .collect(Collectors.groupingBy(o -> o == null ? "success" : o, Collectors.counting()));
  }

  private GenerateDataKeyResponse dataKey(String keyId) {
    return vendor.generateDataKey(r -> r.keyId(keyId).numberOfBytes(32));
  }

  /** Starts the default propagating LocalKms with a tenant key and one data key of it. */
  private GenerateDataKeyResponse startWithADataKey() {
    start();
    key = kms.createKey("tenant");
    return dataKey(key);
  }

  /** Asserts that every one of REQUESTS decrypts has the one outcome ("success" or a code). */
  private void assertEveryDecryptSees(GenerateDataKeyResponse dataKey, String outcome) {
    assertEquals(Map.of(outcome, (long) REQUESTS), histogram(decrypts(dataKey, REQUESTS)));
  }

  /** Asserts that REQUESTS decrypts have exactly these outcomes, each at least once. */
  private void assertDecryptsSee(GenerateDataKeyResponse dataKey, String... outcomes) {
    Map<String, Long> h = histogram(decrypts(dataKey, REQUESTS));
    assertEquals(Set.of(outcomes), h.keySet(), h.toString());
  }

  @Test
  void afterDisableKeyDecryptsSucceedOrFailAtRandomWithinTheWindowAndAllFailAfterIt() {
    GenerateDataKeyResponse dk = startWithADataKey();
    kms.disableKey(key);
    assertEquals(Optional.of(T0.plus(WINDOW)), kms.propagationSettlesAt(key));

    List<String> within = decrypts(dk, REQUESTS);
    clock.advance(WINDOW.minusMillis(1));
    within.addAll(decrypts(dk, REQUESTS));
    Map<String, Long> h = histogram(within);
    assertEquals(Set.of("success", "DisabledException"), h.keySet(), h.toString());
    assertTrue(h.get("success") >= 10 && h.get("DisabledException") >= 10, h.toString());

    clock.advance(Duration.ofMillis(1));
    assertEquals(Optional.empty(), kms.propagationSettlesAt(key));
    assertEveryDecryptSees(dk, "DisabledException");
  }

  @Test
  void theSameSeedGivesTheSameSequenceOfOutcomes() {
    List<List<String>> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      start();
      key = kms.createKey("tenant");
      GenerateDataKeyResponse dk = dataKey(key);
      kms.disableKey(key);
      runs.add(decrypts(dk, REQUESTS));
      assertEquals(SEED, kms.propagationSeed());
    }
    assertEquals(runs.get(0), runs.get(1));
    assertTrue(runs.get(0).contains(null) && runs.get(0).contains("DisabledException"));
  }

  @Test
  void afterEnableKeyDecryptsFailOrSucceedAtRandomWithinTheWindowAndAllSucceedAfterIt() {
    GenerateDataKeyResponse dk = startWithADataKey();
    kms.disableKey(key);
    clock.advance(WINDOW);
    assertEquals(Map.of("DisabledException", 5L), histogram(decrypts(dk, 5)));

    kms.enableKey(key);
    assertDecryptsSee(dk, "success", "DisabledException");

    clock.advance(WINDOW);
    assertEveryDecryptSees(dk, "success");
  }

  @Test
  void putKeyPolicyRemovingTheVendorIsSeenAtRandomWithinTheWindowAndAlwaysAfterIt() {
    GenerateDataKeyResponse dk = startWithADataKey();
    String withoutVendor = policyAllowingOnly(kms.admin().arn());
    kms.putKeyPolicy(key, withoutVendor);

    // key management sees the latest policy at once
    assertEquals(withoutVendor, admin.getKeyPolicy(r -> r.keyId(key)).policy());

    assertDecryptsSee(dk, "success", "AccessDeniedException");
    assertEquals(
        Set.of("success", "AccessDeniedException"), histogram(generates(REQUESTS)).keySet());

    clock.advance(WINDOW);
    assertEveryDecryptSees(dk, "AccessDeniedException");
  }

  @Test
  void scheduleAndCancelKeyDeletionPropagateToo() {
    GenerateDataKeyResponse dk = startWithADataKey();
    kms.scheduleKeyDeletion(key, 7);
    assertDecryptsSee(dk, "success", "KMSInvalidStateException");
    Map<KeyState, Long> described = new java.util.EnumMap<>(KeyState.class);
    for (int i = 0; i < REQUESTS; i++) {
      described.merge(
          vendor.describeKey(r -> r.keyId(key)).keyMetadata().keyState(), 1L, Long::sum);
    }
    assertEquals(Set.of(KeyState.ENABLED, KeyState.PENDING_DELETION), described.keySet());
    clock.advance(WINDOW);
    assertEveryDecryptSees(dk, "KMSInvalidStateException");

    kms.cancelKeyDeletion(key); // leaves the key Disabled
    assertDecryptsSee(dk, "KMSInvalidStateException", "DisabledException");
    clock.advance(WINDOW);
    assertEveryDecryptSees(dk, "DisabledException");
  }

  @Test
  void overlappingChangesLetRequestsSeeEveryStateStillPropagating() {
    GenerateDataKeyResponse dk = startWithADataKey();
    kms.disableKey(key);
    clock.advance(Duration.ofSeconds(10));
    kms.enableKey(key); // allowed at once: key management sees the latest state
    assertEquals(Optional.of(T0.plusSeconds(40)), kms.propagationSettlesAt(key));
    assertDecryptsSee(dk, "success", "DisabledException");
    clock.advance(Duration.ofSeconds(20)); // the disable's window is over, the enable's is not
    assertDecryptsSee(dk, "success", "DisabledException");
    clock.advance(Duration.ofSeconds(10));
    assertEveryDecryptSees(dk, "success");
  }

  @Test
  void settlePropagationEndsEveryWindowAtOnce() {
    GenerateDataKeyResponse dk = startWithADataKey();
    kms.disableKey(key);
    kms.settlePropagation();
    assertEquals(Optional.empty(), kms.propagationSettlesAt(key));
    assertEveryDecryptSees(dk, "DisabledException");
  }

  @Test
  void theWindowCanBeSwitchedOffAndOnForLaterChanges() {
    GenerateDataKeyResponse dk = startWithADataKey();
    kms.propagationWindow(Duration.ZERO);
    kms.disableKey(key);
    assertEveryDecryptSees(dk, "DisabledException");
    kms.propagationWindow(Duration.ofSeconds(5));
    kms.enableKey(key);
    assertEquals(Optional.of(T0.plusSeconds(5)), kms.propagationSettlesAt(key));
    assertDecryptsSee(dk, "success", "DisabledException");
  }

  @Test
  void withoutAWindowEveryChangeIsSeenAtOnceAsBefore() {
    start(LocalKms.builder());
    key = kms.createKey("tenant");
    GenerateDataKeyResponse dk = dataKey(key);
    assertEquals(Map.of("success", 5L), histogram(decrypts(dk, 5)));
    kms.disableKey(key);
    assertEquals(Optional.empty(), kms.propagationSettlesAt(key));
    assertEveryDecryptSees(dk, "DisabledException");
    kms.enableKey(key);
    assertEveryDecryptSees(dk, "success");
  }

  @Test
  void newKeysAreTransientlyNotFoundOrInvalidStateWithinTheWindowWhenAskedFor() {
    start(
        LocalKms.builder()
            .propagationWindow(WINDOW)
            .propagationSeed(SEED)
            .newKeyErrors("NotFoundException", "KMSInvalidStateException"));
    key = kms.createKey("tenant");
    Map<String, Long> h = histogram(generates(REQUESTS * 2));
    assertEquals(
        Set.of("success", "NotFoundException", "KMSInvalidStateException"),
        h.keySet(),
        h.toString());
    clock.advance(WINDOW);
    assertEquals(Map.of("success", (long) REQUESTS), histogram(generates(REQUESTS)));
  }

  @Test
  void newKeysAreUsableAtOnceUnlessNewKeyErrorsAreAskedFor() {
    start();
    key = kms.createKey("tenant");
    for (int i = 0; i < REQUESTS; i++) {
      assertEquals(null, outcome(() -> dataKey(key)));
    }
    assertFalse(kms.propagationSettlesAt(key).isPresent());
  }

  @Test
  void newKeyErrorsAreOnlyTheTwoAwsDocuments() {
    assertThrows(
        IllegalArgumentException.class, () -> LocalKms.builder().newKeyErrors("DisabledException"));
    assertThrows(
        IllegalArgumentException.class,
        () -> LocalKms.builder().propagationWindow(Duration.ofSeconds(-1)));
  }
}
