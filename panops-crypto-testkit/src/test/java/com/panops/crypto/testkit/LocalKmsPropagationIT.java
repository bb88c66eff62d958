package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.client;
import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
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
import java.util.function.Function;
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

  private static Map<String, Long> histogram(List<String> outcomes) {
    return outcomes.stream()
        .collect(Collectors.groupingBy(o -> o == null ? "success" : o, Collectors.counting()));
  }

  private GenerateDataKeyResponse dataKey(String key) {
    return vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
  }

  @Test
  void afterDisableKeyDecryptsSucceedOrFailAtRandomWithinTheWindowAndAllFailAfterIt() {
    start();
    String key = kms.createKey("tenant");
    GenerateDataKeyResponse dk = dataKey(key);
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
    assertEquals(Map.of("DisabledException", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));
  }

  @Test
  void theSameSeedGivesTheSameSequenceOfOutcomes() {
    List<List<String>> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      start();
      String key = kms.createKey("tenant");
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
    start();
    String key = kms.createKey("tenant");
    GenerateDataKeyResponse dk = dataKey(key);
    kms.disableKey(key);
    clock.advance(WINDOW);
    assertEquals(Map.of("DisabledException", 5L), histogram(decrypts(dk, 5)));

    kms.enableKey(key);
    Map<String, Long> h = histogram(decrypts(dk, REQUESTS));
    assertEquals(Set.of("success", "DisabledException"), h.keySet(), h.toString());

    clock.advance(WINDOW);
    assertEquals(Map.of("success", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));
  }

  @Test
  void putKeyPolicyRemovingTheVendorIsSeenAtRandomWithinTheWindowAndAlwaysAfterIt() {
    start();
    String key = kms.createKey("tenant");
    GenerateDataKeyResponse dk = dataKey(key);
    String withoutVendor =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"CustomerKeyAdministration\","
            + "\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
            + kms.admin().arn()
            + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";
    kms.putKeyPolicy(key, withoutVendor);

    // key management sees the latest policy at once
    assertEquals(withoutVendor, admin.getKeyPolicy(r -> r.keyId(key)).policy());

    Map<String, Long> h = histogram(decrypts(dk, REQUESTS));
    assertEquals(Set.of("success", "AccessDeniedException"), h.keySet(), h.toString());
    List<String> gdk = new ArrayList<>();
    for (int i = 0; i < REQUESTS; i++) {
      gdk.add(outcome(() -> dataKey(key)));
    }
    assertEquals(Set.of("success", "AccessDeniedException"), histogram(gdk).keySet());

    clock.advance(WINDOW);
    assertEquals(
        Map.of("AccessDeniedException", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));
  }

  @Test
  void scheduleAndCancelKeyDeletionPropagateToo() {
    start();
    String key = kms.createKey("tenant");
    GenerateDataKeyResponse dk = dataKey(key);
    kms.scheduleKeyDeletion(key, 7);
    assertEquals(
        Set.of("success", "KMSInvalidStateException"), histogram(decrypts(dk, REQUESTS)).keySet());
    Map<KeyState, Long> described = new java.util.EnumMap<>(KeyState.class);
    for (int i = 0; i < REQUESTS; i++) {
      described.merge(
          vendor.describeKey(r -> r.keyId(key)).keyMetadata().keyState(), 1L, Long::sum);
    }
    assertEquals(Set.of(KeyState.ENABLED, KeyState.PENDING_DELETION), described.keySet());
    clock.advance(WINDOW);
    assertEquals(
        Map.of("KMSInvalidStateException", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));

    kms.cancelKeyDeletion(key); // leaves the key Disabled
    assertEquals(
        Set.of("KMSInvalidStateException", "DisabledException"),
        histogram(decrypts(dk, REQUESTS)).keySet());
    clock.advance(WINDOW);
    assertEquals(Map.of("DisabledException", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));
  }

  @Test
  void overlappingChangesLetRequestsSeeEveryStateStillPropagating() {
    start();
    String key = kms.createKey("tenant");
    GenerateDataKeyResponse dk = dataKey(key);
    kms.disableKey(key);
    clock.advance(Duration.ofSeconds(10));
    kms.enableKey(key); // allowed at once: key management sees the latest state
    assertEquals(Optional.of(T0.plusSeconds(40)), kms.propagationSettlesAt(key));
    assertEquals(
        Set.of("success", "DisabledException"), histogram(decrypts(dk, REQUESTS)).keySet());
    clock.advance(Duration.ofSeconds(20)); // the disable's window is over, the enable's is not
    assertEquals(
        Set.of("success", "DisabledException"), histogram(decrypts(dk, REQUESTS)).keySet());
    clock.advance(Duration.ofSeconds(10));
    assertEquals(Map.of("success", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));
  }

  @Test
  void settlePropagationEndsEveryWindowAtOnce() {
    start();
    String key = kms.createKey("tenant");
    GenerateDataKeyResponse dk = dataKey(key);
    kms.disableKey(key);
    kms.settlePropagation();
    assertEquals(Optional.empty(), kms.propagationSettlesAt(key));
    assertEquals(Map.of("DisabledException", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));
  }

  @Test
  void theWindowCanBeSwitchedOffAndOnForLaterChanges() {
    start();
    String key = kms.createKey("tenant");
    GenerateDataKeyResponse dk = dataKey(key);
    kms.propagationWindow(Duration.ZERO);
    kms.disableKey(key);
    assertEquals(Map.of("DisabledException", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));
    kms.propagationWindow(Duration.ofSeconds(5));
    kms.enableKey(key);
    assertEquals(Optional.of(T0.plusSeconds(5)), kms.propagationSettlesAt(key));
    assertEquals(
        Set.of("success", "DisabledException"), histogram(decrypts(dk, REQUESTS)).keySet());
  }

  @Test
  void withoutAWindowEveryChangeIsSeenAtOnceAsBefore() {
    start(LocalKms.builder());
    String key = kms.createKey("tenant");
    GenerateDataKeyResponse dk = dataKey(key);
    assertEquals(Map.of("success", 5L), histogram(decrypts(dk, 5)));
    kms.disableKey(key);
    assertEquals(Optional.empty(), kms.propagationSettlesAt(key));
    assertEquals(Map.of("DisabledException", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));
    kms.enableKey(key);
    assertEquals(Map.of("success", (long) REQUESTS), histogram(decrypts(dk, REQUESTS)));
  }

  @Test
  void newKeysAreTransientlyNotFoundOrInvalidStateWithinTheWindowWhenAskedFor() {
    start(
        LocalKms.builder()
            .propagationWindow(WINDOW)
            .propagationSeed(SEED)
            .newKeyErrors("NotFoundException", "KMSInvalidStateException"));
    String key = kms.createKey("tenant");
    Function<Integer, Map<String, Long>> generate =
        n -> {
          List<String> out = new ArrayList<>();
          for (int i = 0; i < n; i++) {
            out.add(outcome(() -> dataKey(key)));
          }
          return histogram(out);
        };
    Map<String, Long> h = generate.apply(REQUESTS * 2);
    assertEquals(
        Set.of("success", "NotFoundException", "KMSInvalidStateException"),
        h.keySet(),
        h.toString());
    clock.advance(WINDOW);
    assertEquals(Map.of("success", (long) REQUESTS), generate.apply(REQUESTS));
  }

  @Test
  void newKeysAreUsableAtOnceUnlessNewKeyErrorsAreAskedFor() {
    start();
    String key = kms.createKey("tenant");
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
