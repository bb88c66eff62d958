package com.panops.crypto.fleet;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * {@link FleetScaleSimulation} scaled down to fit the build: 20 real coordinators (each with its
 * own writer and LISTEN connection, verify-full TLS) on one embedded PostgreSQL, 1,000 keys each
 * used by 3 members plus 20 used by all, interval 1 s, 4 intervals measured. The 100 × 10,000 run
 * is {@code FleetScaleSimulation.main}, by hand.
 */
class FleetScaleIT {
  @Test
  void probesAreAboutOnePerKeyPerInterval_writesFollowMembersNotKeys_andFanOutIsQuick()
      throws Exception {
    int members = 20;
    int keys = 1_000;
    FleetScaleSimulation.Result r =
        FleetScaleSimulation.run(members, keys, 3, 20, Duration.ofSeconds(1), 4);
    FleetScaleSimulation.print(r);
    FleetCoordinationIT.record(
        String.format(
            "[scale] %d coordinators, %d keys, 1 s: %.0f probes per interval, %.1f DB writes/s"
                + " (%.2f per member per interval), fan-out %d/%d p50 %.1f ms p99 %.1f ms,"
                + " assigned keys per member %d/%d/%d",
            members,
            keys,
            r.probesPerInterval(),
            r.writesPerSecond(),
            r.writesPerMemberPerInterval(),
            r.deliveries(),
            r.expectedDeliveries(),
            r.p50Ms(),
            r.p99Ms(),
            r.minLoad(),
            r.medianLoad(),
            r.maxLoad()));
    assertTrue(
        Math.abs(r.probesPerInterval() - keys) <= 0.1 * keys,
        "probes per interval: " + r.probesPerInterval());
    // A heartbeat every quarter interval: 4 writes per member per interval, whatever the keys
    // (50 per member here), plus the few events.
    assertTrue(
        r.writesPerMemberPerInterval() <= 6,
        "writes per member per interval: " + r.writesPerMemberPerInterval());
    assertEquals(r.expectedDeliveries(), r.deliveries(), "every member heard every revocation");
    assertTrue(r.p99Ms() <= 1_000, "fan-out p99 " + r.p99Ms() + " ms");
    assertTrue(r.maxLoad() <= 2 * r.meanLoad(), "assignment skew: max " + r.maxLoad());
  }
}
