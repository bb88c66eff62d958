package com.panops.crypto.fleet;

import static org.junit.jupiter.api.Assertions.*;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FleetUnitTest {
  @Test
  void theBuilderRequiresADataSourceAndAKeyOfAtLeast32Bytes() {
    assertThrows(
        IllegalArgumentException.class,
        () -> PostgresProbeCoordinator.builder().attestationKey(new byte[31]));
    assertThrows(
        IllegalStateException.class,
        () -> PostgresProbeCoordinator.builder().attestationKey(new byte[32]).build());
    assertThrows(
        IllegalArgumentException.class, () -> PostgresProbeCoordinator.builder().memberId(""));
  }

  @Test
  void theRendezvousHashIsStable_andSpreadsKeysEvenly() {
    assertEquals(
        PostgresProbeCoordinator.score("w1", "arn:k"),
        PostgresProbeCoordinator.score("w1", "arn:k"));
    assertNotEquals(
        PostgresProbeCoordinator.score("w1", "arn:k"),
        PostgresProbeCoordinator.score("w2", "arn:k"));
    int members = 100;
    int keys = 10_000;
    Map<Integer, Integer> load = new HashMap<>();
    for (int k = 0; k < keys; k++) {
      String arn = "arn:aws:kms:eu-west-1:111122223333:key/" + k;
      int best = 0;
      long bestScore = 0;
      for (int m = 0; m < members; m++) {
        long s = PostgresProbeCoordinator.score("member-" + m, arn);
        if (m == 0 || Long.compareUnsigned(s, bestScore) > 0) {
          best = m;
          bestScore = s;
        }
      }
      load.merge(best, 1, Integer::sum);
    }
    int max = load.values().stream().max(Integer::compare).get();
    int min = members == load.size() ? load.values().stream().min(Integer::compare).get() : 0;
    System.out.println(
        "[fleet] assignment of 10,000 keys to 100 members: min "
            + min
            + ", max "
            + max
            + " (mean 100)");
    assertTrue(max <= 150, "max " + max);
    assertTrue(min >= 55, "min " + min);
  }
}
