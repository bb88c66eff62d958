package com.panops.crypto.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.AuditSink;
import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.LocalKms;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * The three customer kill switches (disable, schedule deletion, remove the vendor from the key
 * policy) once more, with the library's default probe settings (a 5 s interval, settling over 3
 * probes and 10 s): three customers, one action each, at the same moment, against one worker with
 * warm caches. Runs on its own thread while the main walkthrough goes on (it takes about 20 s of
 * waiting); its narrative is kept and printed, and its expectations recorded, when it is done.
 */
final class DefaultIntervalScenes {
  static final ProbeSettings SETTINGS = ProbeSettings.defaults();
  private static final KeyContext KC = KeyContext.of("class", "mail");
  private static final Duration GIVE_UP = Duration.ofSeconds(30);

  /** One customer and its action. */
  private record Scene(String tenant, String action, RevocationReason reason) {}

  private static final List<Scene> SCENES =
      List.of(
          new Scene("globex", "DisableKey", RevocationReason.DISABLED),
          new Scene("initech", "ScheduleKeyDeletion (7 days)", RevocationReason.PENDING_DELETION),
          new Scene(
              "umbrella",
              "PutKeyPolicy without the vendor's statement",
              RevocationReason.ACCESS_DENIED));

  /** What the scenes found: the narrative, the expectations, and the keys (one window each). */
  record Outcome(
      List<String> lines, List<Map.Entry<String, Checks.Verdict>> verdicts, List<String> keys) {}

  private final LocalKms kms;
  private final KmsClient client;
  private final AuditSink audit;
  private final Function<String, Duration> kmsRoundTrip;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
  private final Console con = new Console(new PrintStream(buffer, true, StandardCharsets.UTF_8));
  private final List<Map.Entry<String, Checks.Verdict>> verdicts = new ArrayList<>();
  private final Map<String, String> keys = new LinkedHashMap<>();
  private final Map<String, Long> restoredAt = new ConcurrentHashMap<>();

  /** Each customer's warm value, by customer. */
  private final Map<String, byte[]> ciphertexts = new LinkedHashMap<>();

  /**
   * @param client the worker's own KMS client (the vendor role, its own session)
   * @param kmsRoundTrip measures the slowest of {@value Limits#SAMPLES} KMS round trips against a
   *     key, just before the actions
   */
  DefaultIntervalScenes(
      LocalKms kms, KmsClient client, AuditSink audit, Function<String, Duration> kmsRoundTrip) {
    this.kms = kms;
    this.client = client;
    this.audit = audit;
    this.kmsRoundTrip = kmsRoundTrip;
    for (Scene s : SCENES) {
      keys.put(s.tenant(), kms.createKey(s.tenant() + ": PanOps mail archive"));
    }
  }

  List<String> keyArns() {
    return List.copyOf(keys.values());
  }

  /** Key ARN to customer name. */
  Map<String, String> keyNames() {
    Map<String, String> names = new LinkedHashMap<>();
    keys.forEach((t, k) -> names.put(k, t));
    return names;
  }

  Outcome run() throws Exception {
    Map<String, TenantKeys> dir = new LinkedHashMap<>();
    keys.forEach((t, k) -> dir.put(t, TenantKeys.of(k)));
    try (PanopsCrypto crypto =
        PanopsCrypto.builder()
            .kmsClient(client)
            .tenantDirectory(TenantDirectory.of(dir))
            .allowInsecureLocalKmsEndpoint()
            .probeSettings(SETTINGS)
            .auditSink(audit)
            .addRevocationListener(this::onRevocation)
            .build()) {
      describe();
      warm(crypto);
      Limits limits = measureLimits(crypto);
      Map<String, Long> actedAt = new LinkedHashMap<>();
      for (Scene s : SCENES) {
        actedAt.put(s.tenant(), System.nanoTime());
        act(s);
        con.kv("  " + s.tenant() + ": " + s.action(), "[" + con.clock() + "]");
      }
      awaitRefusals(crypto, actedAt, limits);
      // the customers change their minds: the keys are usable again
      Map<String, Long> undoneAt = new LinkedHashMap<>();
      for (Scene s : SCENES) {
        undo(s);
        undoneAt.put(s.tenant(), System.nanoTime());
        con.kv("  " + s.tenant() + ": undone (" + undoText(s) + ")", "[" + con.clock() + "]");
      }
      awaitRestores(crypto, undoneAt, limits);
    }
    con.raw("");
    return new Outcome(
        List.of(buffer.toString(StandardCharsets.UTF_8).split("\n")), verdicts, keyArns());
  }

  private void describe() {
    con.line(
        "A second worker, with the library's default probe settings ("
            + SETTINGS.interval().toSeconds()
            + " s interval, settling over "
            + SETTINGS.settleProbes()
            + " probes and "
            + SETTINGS.settleTime().toSeconds()
            + " s), serves three");
    con.line(
        "more customers; each pulls a different kill switch at the same moment. (It ran on"
            + " its own");
    con.line("thread alongside steps 2 to 4; its own KmsClient, no fleet coordinator.)");
  }

  /** Encrypts and decrypts one value per customer, so that every data key is cached. */
  private void warm(PanopsCrypto crypto) {
    for (Scene s : SCENES) {
      MessageAad aad = MessageAad.of("row", s.tenant());
      byte[] c = crypto.tenant(s.tenant()).encrypt(bytes("warm " + s.tenant()), KC, aad);
      crypto.tenant(s.tenant()).decrypt(c, KC, aad);
      ciphertexts.put(s.tenant(), c);
    }
  }

  /** Decrypts the customer's warm value. */
  private void read(PanopsCrypto crypto, Scene s) {
    crypto
        .tenant(s.tenant())
        .decrypt(ciphertexts.get(s.tenant()), KC, MessageAad.of("row", s.tenant()));
  }

  /** The limits from warm reads and KMS round trips measured just before the actions. */
  private Limits measureLimits(PanopsCrypto crypto) {
    List<Long> reads = new ArrayList<>();
    for (int i = 0; i < Limits.SAMPLES; i++) {
      Scene s = SCENES.get(i % SCENES.size());
      long t = System.nanoTime();
      read(crypto, s);
      reads.add(System.nanoTime() - t);
    }
    Limits limits =
        Limits.of(
            SETTINGS,
            kmsRoundTrip.apply(keys.get(SCENES.get(0).tenant())),
            Limits.slowest(reads),
            null);
    for (String l : limits.derivation()) {
      con.kv("  limits", l);
    }
    return limits;
  }

  /** Reads until each customer's value is refused; reports each against the refusal limit. */
  private void awaitRefusals(PanopsCrypto crypto, Map<String, Long> actedAt, Limits limits)
      throws InterruptedException {
    Map<String, Duration> refusedAfter = new LinkedHashMap<>();
    Map<String, RevocationReason> reasons = new LinkedHashMap<>();
    long deadline = System.nanoTime() + GIVE_UP.toNanos();
    while (refusedAfter.size() < SCENES.size() && System.nanoTime() < deadline) {
      for (Scene s : SCENES) {
        if (refusedAfter.containsKey(s.tenant())) {
          continue;
        }
        try {
          read(crypto, s);
        } catch (KeyRevokedException e) {
          refusedAfter.put(
              s.tenant(), Duration.ofNanos(System.nanoTime() - actedAt.get(s.tenant())));
          reasons.put(s.tenant(), e.reason());
        }
      }
      Thread.sleep(Limits.POLL.toMillis());
    }
    for (Scene s : SCENES) {
      con.kv(
          "  " + s.tenant() + ": first refused decrypt",
          Checks.fmt(refusedAfter.get(s.tenant())) + ", " + reasons.get(s.tenant()));
      verdicts.add(
          Map.entry(
              "default interval: "
                  + s.tenant()
                  + "'s "
                  + s.action()
                  + " refused within the limit, reason "
                  + s.reason(),
              Checks.refusedWithin(
                  refusedAfter.get(s.tenant()),
                  reasons.get(s.tenant()),
                  s.reason(),
                  limits.refusal())));
    }
  }

  /** Reads until each customer's value is served again; reports each against the restore limit. */
  private void awaitRestores(PanopsCrypto crypto, Map<String, Long> undoneAt, Limits limits)
      throws InterruptedException {
    Map<String, Duration> servedAfter = new LinkedHashMap<>();
    long deadline = System.nanoTime() + GIVE_UP.toNanos();
    while (servedAfter.size() < SCENES.size() && System.nanoTime() < deadline) {
      for (Scene s : SCENES) {
        if (servedAfter.containsKey(s.tenant())) {
          continue;
        }
        try {
          read(crypto, s);
          servedAfter.put(
              s.tenant(), Duration.ofNanos(System.nanoTime() - undoneAt.get(s.tenant())));
        } catch (KeyRevokedException stillLatched) {
          // until the key has settled
        }
      }
      Thread.sleep(Limits.POLL.toMillis());
    }
    for (Scene s : SCENES) {
      Long r = restoredAt.get(keys.get(s.tenant()));
      Duration ev = r == null ? null : Duration.ofNanos(r - undoneAt.get(s.tenant()));
      con.kv(
          "  " + s.tenant() + ": served again / RESTORED",
          Checks.fmt(servedAfter.get(s.tenant())) + " / " + Checks.fmt(ev));
      verdicts.add(
          Map.entry(
              "default interval: " + s.tenant() + " served again after settling, within the limit",
              Checks.restored(
                  servedAfter.get(s.tenant()), ev, SETTINGS.settleTime(), limits.restore())));
    }
  }

  private void onRevocation(RevocationEvent e) {
    if (e.kind() == RevocationEvent.Kind.RESTORED) {
      restoredAt.putIfAbsent(e.keyArn(), System.nanoTime());
    }
  }

  private void act(Scene s) throws Exception {
    String key = keys.get(s.tenant());
    switch (s.reason()) {
      case DISABLED -> kms.disableKey(key);
      case PENDING_DELETION -> kms.scheduleKeyDeletion(key, 7);
      default -> kms.putKeyPolicy(key, policyWithoutVendor(kms.seedKeyPolicy()));
    }
  }

  private void undo(Scene s) {
    String key = keys.get(s.tenant());
    switch (s.reason()) {
      case DISABLED -> kms.enableKey(key);
      case PENDING_DELETION -> {
        kms.cancelKeyDeletion(key);
        kms.enableKey(key);
      }
      default -> kms.putKeyPolicy(key, kms.seedKeyPolicy());
    }
  }

  private static String undoText(Scene s) {
    return switch (s.reason()) {
      case DISABLED -> "EnableKey";
      case PENDING_DELETION -> "CancelKeyDeletion + EnableKey";
      default -> "the seed policy put back";
    };
  }

  /** The seed policy without the vendor's {@code PanOpsServiceAccess} statement. */
  static String policyWithoutVendor(String policyJson) throws Exception {
    ObjectNode p = (ObjectNode) new ObjectMapper().readTree(policyJson);
    ArrayNode kept = new ObjectMapper().createArrayNode();
    for (JsonNode st : p.get("Statement")) {
      if (!"PanOpsServiceAccess".equals(st.path("Sid").asText())) {
        kept.add(st);
      }
    }
    p.set("Statement", kept);
    return p.toString();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
