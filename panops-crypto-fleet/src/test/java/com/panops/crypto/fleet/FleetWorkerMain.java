package com.panops.crypto.fleet;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.PanopsCryptoException;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.postgresql.ds.PGSimpleDataSource;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * One worker process for {@link FleetProcessIT}: a {@link PanopsCrypto} with its own SDK KmsClient
 * (LocalKms on 127.0.0.1, static credentials, a region) and, unless standalone, its own {@link
 * PostgresProbeCoordinator} on verify-full TLS. It warms one ciphertext per key, then tries to
 * decrypt each every 20 ms and reports on stdout (one line each, with its wall-clock time in ms):
 *
 * <pre>
 * READY
 * STATE idx SERVED|REFUSED|UNAVAILABLE ms   (on change: can it decrypt key idx now)
 * EVENT REVOKED|RESTORED idx ms              (revocation listener)
 * PROBE idx ms                               (a liveness-probe Decrypt of key idx, from the audit)
 * ASSIGNED idx true|false                    (on change: whether it probes key idx for the fleet)
 * HEALTHY true|false ms                      (on change: the coordinator's view of itself)
 * </pre>
 *
 * It exits when stdin says QUIT or closes (so a worker never outlives its test).
 *
 * <p>Arguments, {@code name=value}: name, kms (endpoint), region, accessKey, secretKey, pgUrl,
 * pgUser, listenUrl (optional), keys (comma-separated ARNs), intervalMs, settleMs, coordinated
 * (true|false), budget (optional, requests/s).
 */
public final class FleetWorkerMain {
  private static final PrintStream OUT = System.out;

  private FleetWorkerMain() {}

  static synchronized void say(String line) {
    OUT.println(line);
    OUT.flush();
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      a.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    List<String> keys = List.of(a.get("keys").split(","));
    Duration interval = Duration.ofMillis(Long.parseLong(a.get("intervalMs")));
    Duration settle = Duration.ofMillis(Long.parseLong(a.get("settleMs")));
    boolean coordinated = Boolean.parseBoolean(a.get("coordinated"));
    KmsClient client =
        KmsClient.builder()
            .endpointOverride(URI.create(a.get("kms")))
            .region(Region.of(a.get("region")))
            .credentialsProvider(
                StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(a.get("accessKey"), a.get("secretKey"))))
            .overrideConfiguration(
                o ->
                    o.apiCallAttemptTimeout(Duration.ofSeconds(2))
                        .apiCallTimeout(Duration.ofSeconds(5)))
            .build();
    Map<String, TenantKeys> tenants = new HashMap<>();
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      tenants.put("t" + i, TenantKeys.of(keys.get(i)));
      index.put(keys.get(i), i);
    }
    PostgresProbeCoordinator coordinator = null;
    if (coordinated) {
      PostgresProbeCoordinator.Builder cb =
          PostgresProbeCoordinator.builder()
              .dataSource(dataSource(a.get("pgUrl"), a.get("pgUser")))
              .attestationKey(TestFleet.KEY)
              .memberId(a.get("name"));
      if (a.containsKey("listenUrl")) {
        cb.listenDataSource(dataSource(a.get("listenUrl"), a.get("pgUser")));
      }
      coordinator = cb.build();
    }
    OptionalDouble budget =
        a.containsKey("budget")
            ? OptionalDouble.of(Double.parseDouble(a.get("budget")))
            : OptionalDouble.empty();
    PanopsCrypto.Builder b =
        TestFleet.workerCrypto(client, tenants, interval, settle, budget)
            .addRevocationListener(
                e ->
                    say(
                        "EVENT "
                            + e.kind()
                            + " "
                            + index.getOrDefault(e.keyArn(), -1)
                            + " "
                            + System.currentTimeMillis()))
            .auditSink(
                e -> {
                  if (e.operation().equals("Decrypt")
                      && "liveness-probe".equals(e.encryptionContext().get("panops:purpose"))) {
                    say(
                        "PROBE "
                            + index.getOrDefault(e.keyArn(), -1)
                            + " "
                            + e.time().toEpochMilli());
                  }
                });
    if (coordinator != null) {
      b.probeCoordinator(coordinator);
    }
    PanopsCrypto crypto = b.build();
    KeyContext kc = TestFleet.KC;
    MessageAad aad = TestFleet.AAD;
    byte[][] ct = new byte[keys.size()][];
    for (int i = 0; i < keys.size(); i++) {
      ct[i] = crypto.tenant("t" + i).encrypt(("k" + i).getBytes(StandardCharsets.UTF_8), kc, aad);
      crypto.tenant("t" + i).decrypt(ct[i], kc, aad);
    }
    Thread stdin =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null && !line.equals("QUIT")) {
                  // nothing else is understood
                }
              } catch (Exception e) {
                // exit below
              }
              crypto.close();
              Runtime.getRuntime().halt(0);
            },
            "stdin");
    stdin.setDaemon(true);
    stdin.start();
    say("READY");
    String[] state = new String[keys.size()];
    Boolean[] assigned = new Boolean[keys.size()];
    Boolean healthy = null;
    for (; ; ) {
      for (int i = 0; i < keys.size(); i++) {
        String now;
        try {
          byte[] pt = crypto.tenant("t" + i).decrypt(ct[i], kc, aad);
          now = new String(pt, StandardCharsets.UTF_8).equals("k" + i) ? "SERVED" : "WRONG";
        } catch (com.panops.crypto.KeyRevokedException e) {
          now = "REFUSED";
        } catch (PanopsCryptoException e) {
          now = "UNAVAILABLE";
        }
        if (!now.equals(state[i])) {
          state[i] = now;
          say("STATE " + i + " " + now + " " + System.currentTimeMillis());
        }
        if (coordinator != null) {
          boolean as = coordinator.assigned(keys.get(i));
          if (assigned[i] == null || assigned[i] != as) {
            assigned[i] = as;
            say("ASSIGNED " + i + " " + as);
          }
        }
      }
      if (coordinator != null) {
        boolean h = coordinator.isHealthy();
        if (healthy == null || healthy != h) {
          healthy = h;
          say("HEALTHY " + h + " " + System.currentTimeMillis());
        }
      }
      Thread.sleep(20);
    }
  }

  static TlsEnforcingDataSource dataSource(String url, String user) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setUrl(url);
    ds.setUser(user);
    return TlsEnforcingDataSource.requireVerifyFull(ds);
  }
}
