package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** ProbeSettings' validating builder: the one idiom for settings, as CacheSettings'. */
class ProbeSettingsBuilderTest {
  @Test
  void theBuilderStartsFromTheDefaults() {
    assertEquals(ProbeSettings.defaults().toString(), ProbeSettings.builder().build().toString());
    assertEquals(
        ProbeSettings.every(Duration.ofSeconds(1)).toString(),
        ProbeSettings.builder().interval(Duration.ofSeconds(1)).build().toString());
    assertFalse(ProbeSettings.builder().off().build().enabled());
  }

  @Test
  void everySetterChecksItsBounds() {
    ProbeSettings.Builder b = ProbeSettings.builder();
    assertThrows(IllegalArgumentException.class, () -> b.interval(Duration.ofMillis(49)));
    assertThrows(IllegalArgumentException.class, () -> b.interval(Duration.ofMinutes(6)));
    assertThrows(IllegalArgumentException.class, () -> b.threads(0));
    assertThrows(IllegalArgumentException.class, () -> b.threads(257));
    assertThrows(IllegalArgumentException.class, () -> b.timeout(Duration.ofMillis(9)));
    assertThrows(IllegalArgumentException.class, () -> b.settle(0, Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> b.settle(3, Duration.ofHours(2)));
    assertThrows(IllegalArgumentException.class, () -> b.budget(0.05));
    assertThrows(IllegalArgumentException.class, () -> b.idleTimeout(Duration.ZERO));
    assertThrows(NullPointerException.class, () -> b.interval(null));
  }

  @Test
  void anIdleTimeoutShorterThanTwoIntervalsFailsAtBuild_andTheDefaultIsTenMinutes() {
    ProbeSettings.Builder b =
        ProbeSettings.builder().interval(Duration.ofMinutes(1)).idleTimeout(Duration.ofSeconds(90));
    assertThrows(IllegalArgumentException.class, b::build);
    assertEquals(
        Duration.ofMinutes(10),
        ProbeSettings.builder().interval(Duration.ofMinutes(5)).build().idleTimeout());
    assertEquals(
        Duration.ofMinutes(8),
        ProbeSettings.builder()
            .interval(Duration.ofMinutes(4))
            .idleTimeout(Duration.ofMinutes(8))
            .build()
            .idleTimeout());
  }

  @Test
  @SuppressWarnings("deprecation")
  void theDeprecatedWithersGiveWhatTheBuilderGives() {
    ProbeSettings base = ProbeSettings.every(Duration.ofSeconds(2));
    ProbeSettings withers =
        base.withTimeout(Duration.ofSeconds(3))
            .withSettle(2, Duration.ofSeconds(4))
            .withThreads(8)
            .withIdleTimeout(Duration.ofMinutes(1))
            .withBudget(50);
    ProbeSettings built =
        base.toBuilder()
            .timeout(Duration.ofSeconds(3))
            .settle(2, Duration.ofSeconds(4))
            .threads(8)
            .idleTimeout(Duration.ofMinutes(1))
            .budget(50)
            .build();
    assertEquals(withers.toString(), built.toString());
    assertEquals(50, built.budget());
    assertEquals(2, built.settleProbes());
  }
}
