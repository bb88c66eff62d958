package com.panops.crypto.demo;

import com.panops.crypto.AuditEvent;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.demo.MailCorpus.Message;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.Principal;
import com.panops.crypto.testkit.TrailEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What every step of one walkthrough shares: the console and the checks, the servers, the synthetic
 * mailbox, the customer's two keys once step 1 made them, the library's audit events, the KMS calls
 * the demo makes itself (outside the library, so the reconciliation can name them), the summary
 * lines, and the clients through which the demo reaches KMS and S3.
 */
final class DemoRun {
  private static final long SEED = 20250303L;

  final Console con;
  final Checks checks;
  final LocalKms kms;
  final DemoServers servers;
  final MailCorpus corpus = MailCorpus.generate(Walkthrough.TENANT, Walkthrough.MESSAGES, SEED);

  /** Every audit event of every worker, in the order they arrived. */
  final List<AuditEvent> audit = new CopyOnWriteArrayList<>();

  /** Request ids of the KMS calls the demo made itself, with its own vendor clients. */
  final Set<String> demoDirectRequestIds = Collections.newSetFromMap(new ConcurrentHashMap<>());

  /** Latched windows each key must show in the trail, by key ARN. */
  final Map<String, Integer> expectedWindows = new HashMap<>();

  /** Key ARN to customer name, for the trail's latched windows. */
  final Map<String, String> keyNames = new HashMap<>();

  private final Map<String, Message> byId = new HashMap<>();
  private final Map<String, String> summary = new LinkedHashMap<>();

  /** The customer's key, and its second key (EU mailboxes); set by step 1. */
  String keyArn;

  String secondKeyArn;

  DemoRun(Console con, Checks checks, DemoServers servers) {
    this.con = con;
    this.checks = checks;
    this.servers = servers;
    this.kms = servers.kms;
    for (Message m : corpus.messages()) {
      byId.put(m.id(), m);
    }
  }

  /** The synthetic message with this id, or null. */
  Message message(String id) {
    return byId.get(id);
  }

  // ------------------------------------------------------------------------- the summary

  void summaryLine(String label, String value) {
    summary.put(label, value);
  }

  /** The summary lines so far, in the order they were added. */
  Map<String, String> summary() {
    return summary;
  }

  // ------------------------------------------------------------------------- the library

  static ProbeSettings probeSettings() {
    return ProbeSettings.builder()
        .interval(Walkthrough.PROBE_INTERVAL)
        .settle(3, Walkthrough.SETTLE)
        .build();
  }

  /** The customer's two keys, as every worker of the fleet serves them. */
  TenantDirectory directory() {
    return TenantDirectory.of(
        Map.of(
            Walkthrough.TENANT,
            TenantKeys.of(keyArn),
            Walkthrough.SECOND_TENANT,
            TenantKeys.of(secondKeyArn)));
  }

  // ------------------------------------------------------------------------- clients

  /** A KMS client (the AWS SDK's, its default retries on) with the credentials of {@code who}. */
  KmsClient kmsClientFor(Principal who) {
    return KmsClient.builder()
        .endpointOverride(kms.endpoint())
        .region(Region.of(kms.region()))
        .credentialsProvider(who.credentialsProvider())
        // the SDK's default retries: the audit has one event per attempt, so each CloudTrail
        // record still has its audit event
        .overrideConfiguration(o -> o.apiCallTimeout(Duration.ofSeconds(20)))
        .build();
  }

  /** Another assumed-role session of the vendor's role, e.g. for another worker. */
  Principal sessionOf(String name) {
    String arn = kms.vendor().arn();
    return kms.addPrincipal(arn.substring(0, arn.lastIndexOf('/') + 1) + name);
  }

  KmsClient vendorKmsClient() {
    return vendorKmsClient(kms.vendor());
  }

  /** A KMS client of the vendor's role, in {@code session}. */
  KmsClient vendorKmsClient(Principal session) {
    return kmsClientFor(session);
  }

  S3Client s3Client() {
    return S3Client.builder()
        .endpointOverride(servers.s3.endpoint())
        .forcePathStyle(true)
        .region(Region.of(servers.s3.region()))
        .credentialsProvider(
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create("demo-access", "demo-secret")))
        .build();
  }

  /** Runs a vendor call the demo makes outside the library; its KMS error code, or "accepted". */
  String refusal(Runnable call) {
    try {
      call.run();
      return "accepted";
    } catch (AwsServiceException e) {
      demoDirectRequestIds.add(e.requestId());
      return e.awsErrorDetails() == null
          ? "HTTP" + e.statusCode()
          : e.awsErrorDetails().errorCode();
    }
  }

  /**
   * The slowest of {@value Limits#SAMPLES} KMS Decrypt round trips against {@code key} (a canary
   * encrypted once), made by the demo outside the library with its own vendor client: CloudTrail
   * has them, and the reconciliation names them as the demo's.
   */
  Duration kmsRoundTrip(String key) {
    Map<String, String> ctx = Map.of("panops:purpose", "demo-round-trip");
    List<Long> samples = new ArrayList<>();
    try (KmsClient c = vendorKmsClient(sessionOf("demo-measure-" + UUID.randomUUID()))) {
      var enc =
          c.encrypt(
              r ->
                  r.keyId(key)
                      .encryptionContext(ctx)
                      .plaintext(SdkBytes.fromUtf8String("round trip")));
      demoDirectRequestIds.add(enc.responseMetadata().requestId());
      for (int i = 0; i < Limits.SAMPLES; i++) {
        long t = System.nanoTime();
        var dec =
            c.decrypt(
                r -> r.keyId(key).encryptionContext(ctx).ciphertextBlob(enc.ciphertextBlob()));
        samples.add(System.nanoTime() - t);
        demoDirectRequestIds.add(dec.responseMetadata().requestId());
      }
    }
    return Limits.slowest(samples);
  }

  // ------------------------------------------------------------------------- the trail

  /** The vendor's records for the customer's two keys made since the trail had {@code mark}. */
  List<TrailEvent> vendorTrailSince(int mark) {
    return vendorTrail(kms.trail().subList(mark, kms.trail().size()));
  }

  /**
   * The vendor role's records (any session) for this customer's two keys: the other customers of
   * step 5 are served meanwhile by another worker, and their records are not this worker's.
   */
  List<TrailEvent> vendorTrail(List<TrailEvent> trail) {
    List<TrailEvent> out = new ArrayList<>();
    for (TrailEvent t : trail) {
      boolean ours =
          keyArn.equals(t.keyId())
              || secondKeyArn.equals(t.keyId())
              || keyArn.equals(t.destinationKeyId());
      if (kms.vendor().roleArn().equals(t.roleArn()) && ours) {
        out.add(t);
      }
    }
    return out;
  }

  /** How many of {@code events} each operation has, e.g. {@code {Decrypt 2}}; "" if none. */
  static String byOperation(List<TrailEvent> events, Predicate<TrailEvent> which) {
    Map<String, Integer> n = new TreeMap<>();
    for (TrailEvent e : events) {
      if (which.test(e)) {
        n.merge(e.eventName(), 1, Integer::sum);
      }
    }
    return n.isEmpty() ? "" : n.toString().replace("=", " ");
  }

  /** The error codes of the failed {@code events}, or "none". */
  static String errorCodes(List<TrailEvent> events) {
    Map<String, Integer> n = new TreeMap<>();
    for (TrailEvent e : events) {
      if (e.failed()) {
        n.merge(e.errorCode(), 1, Integer::sum);
      }
    }
    return n.isEmpty() ? "none" : String.join(", ", n.keySet());
  }
}
