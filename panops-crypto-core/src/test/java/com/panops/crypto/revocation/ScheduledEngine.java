package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.FakeTicker;
import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.metrics.CryptoMetrics;
import com.panops.crypto.testkit.FakeKmsClient;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * The engine driven by hand for tests of probe scheduling: tenants t0..tN-1, each on its own key
 * k0..kN-1 of a fake KMS, on a fake ticker, with the background scheduler stopped (the test calls
 * {@link Revocations#scan()} itself) and every KMS call in {@link #audit}. Each key has been used
 * once: one message "x" encrypted and decrypted, in {@link #cts}.
 */
final class ScheduledEngine implements AutoCloseable {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  final FakeKmsClient kms = new FakeKmsClient();
  final FakeTicker ticker = new FakeTicker();
  final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
  final List<String> arns = new ArrayList<>();
  final PanopsCrypto crypto;
  final Revocations revocations;
  final byte[][] cts;

  ScheduledEngine(int keys, ProbeSettings probes, CryptoMetrics metrics) throws Exception {
    Map<String, TenantKeys> tenants = new HashMap<>();
    for (int i = 0; i < keys; i++) {
      String arn = kms.createKey("k" + i);
      arns.add(arn);
      tenants.put("t" + i, TenantKeys.of(arn));
    }
    crypto =
        TestCrypto.builder(kms, TenantDirectory.of(tenants))
            .probeSettings(probes)
            .auditSink(audit::add)
            .metrics(metrics)
            .ticker(ticker)
            .build();
    Field f = PanopsCrypto.class.getDeclaredField("revocations");
    f.setAccessible(true);
    revocations = (Revocations) f.get(crypto);
    revocations.stopSchedulerForTests();
    cts = new byte[keys][];
    for (int i = 0; i < keys; i++) {
      cts[i] = crypto.tenant("t" + i).encrypt("x".getBytes(), KC, AAD);
      crypto.tenant("t" + i).decrypt(cts[i], KC, AAD);
    }
  }

  /** Whether {@code e} is a call of a liveness probe (not of a request's data key). */
  static boolean isProbe(AuditEvent e) {
    return "liveness-probe".equals(e.encryptionContext().get("panops:purpose"));
  }

  /** Waits (real time, bounded) until every probe started so far has finished. */
  void awaitIdle() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!revocations.probePoolIdleForTests()) {
      assertTrue(System.nanoTime() < deadline, "a probe did not finish");
      Thread.sleep(1);
    }
    for (String arn : arns) {
      assertNull(revocations.existingState(arn).probeInFlight.get());
    }
  }

  @Override
  public void close() {
    crypto.close();
  }
}
