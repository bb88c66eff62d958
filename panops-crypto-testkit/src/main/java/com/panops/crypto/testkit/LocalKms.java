package com.panops.crypto.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.testkit.internal.kms.CloudTrailDelivery;
import com.panops.crypto.testkit.internal.kms.KmsEngine;
import com.panops.crypto.testkit.internal.kms.KmsHttpServer;
import com.panops.crypto.testkit.internal.kms.Trail;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;

/**
 * A local, KMS-wire-compatible server for tests and local runs: the real AWS SDK v2 {@code
 * KmsClient} talks to it over HTTP on 127.0.0.1 through {@code endpointOverride(endpoint())}.
 *
 * <pre>{@code
 * try (LocalKms kms = LocalKms.start()) {
 *   String keyArn = kms.createKey("tenant-42");          // the seed's key policy
 *   KmsClient vendor = KmsClient.builder()
 *       .endpointOverride(kms.endpoint())
 *       .region(Region.of(kms.region()))
 *       .credentialsProvider(kms.vendor().credentialsProvider())
 *       .build();
 *   vendor.generateDataKey(r -> r.keyId(keyArn).keySpec(DataKeySpec.AES_256));
 *   kms.disableKey(keyArn);                              // the customer's kill switch
 * }
 * }</pre>
 *
 * <p>Callers are identified by the access key id of their SigV4 signature, which is verified
 * against the principal's secret. Two principals exist from the start: {@link #admin()}, the
 * customer's key administrator in the key account, and {@link #vendor()}, the vendor's service role
 * in another account; {@link #addPrincipal(String)} registers more. Each key has a key policy that
 * decides which principal may call which operation (see {@link #seedKeyPolicy()}). CreateKey and
 * ListKeys are account-level: LocalKms has no IAM, so any principal of the key account may call
 * them and principals of other accounts may not.
 *
 * <p>The in-process customer actions ({@link #createKey}, {@link #disableKey}, {@link
 * #putKeyPolicy} and the others) run the same operation code as wire requests, as the admin
 * principal, are recorded in the trail like them, and throw {@link LocalKmsException} with the KMS
 * error code when KMS would refuse. Wire requests implement CreateKey, DescribeKey,
 * GenerateDataKey, GenerateDataKeyWithoutPlaintext, Encrypt, Decrypt, ReEncrypt, EnableKey,
 * DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, PutKeyPolicy, GetKeyPolicy, ListKeys and
 * CreateGrant (policy-checked; grants are recorded but never widen access); anything else is an
 * {@code UnknownOperationException}.
 *
 * <p>Behaving as AWS does, each off by default: {@link Builder#propagationWindow} (eventual
 * consistency after key changes, seeded by {@link Builder#propagationSeed}), {@link
 * Builder#newKeyErrors} (new keys transiently not found), {@link Builder#requestRate} (KMS's
 * request quota, {@code ThrottlingException} above it), and {@link #faults()} for injected
 * failures. The JDK HttpServer underneath runs with TCP_NODELAY (see {@code KmsHttpServer}).
 */
public final class LocalKms implements AutoCloseable {

  /** The vendor's service role (in the vendor's account), as the seed's key policy names it. */
  public static final String VENDOR_ROLE_ARN = "arn:aws:iam::999988887777:role/PanOpsServiceRole";

  /**
   * The vendor's workers' identity: an assumed-role session of {@link #VENDOR_ROLE_ARN}, as
   * CloudTrail records it in {@code userIdentity.arn}.
   */
  public static final String VENDOR_SESSION_ARN =
      "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/panops-worker";

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final String region;
  private final String accountId;
  private final Principals principals = new Principals();
  private final Principal admin;
  private final Principal vendor;
  private final Trail trail;
  private final KmsEngine engine;
  private final Faults faults = new Faults();
  private final KmsHttpServer server;
  private final URI endpoint;
  private final long propagationSeed;

  private LocalKms(Builder b) {
    this.region = b.region;
    this.accountId = b.accountId;
    this.admin = addPrincipal("arn:aws:sts::" + accountId + ":assumed-role/KeyAdmin/key-admin");
    this.vendor = addPrincipal(VENDOR_SESSION_ARN);
    this.trail =
        new Trail(
            b.trailFile,
            CloudTrailDelivery.to(
                b.cloudTrailDir, accountId, region, b.clock, b.deliveryInterval, b.recordsPerFile));
    this.engine = new KmsEngine(b.clock, region, accountId, trail);
    this.propagationSeed = b.propagationSeed != null ? b.propagationSeed : RANDOM.nextLong();
    engine.propagation(b.propagationWindow, new Random(propagationSeed));
    engine.newKeyErrors(b.newKeyErrors);
    if (b.requestRate > 0) {
      engine.requestRate(b.requestRate, b.requestBurst);
    }
    try {
      this.server =
          new KmsHttpServer(
              b.port, engine, principals::byAccessKeyId, faults::decide, region, b.maxBodyBytes, 8);
    } catch (RuntimeException e) {
      trail.close();
      throw e;
    }
    this.endpoint = URI.create("http://127.0.0.1:" + server.port());
  }

  /** Starts LocalKms on 127.0.0.1, a random free port, with the system clock. */
  public static LocalKms start() {
    return builder().start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Options for {@link LocalKms}. */
  public static final class Builder {
    private int port;
    private Clock clock = Clock.systemUTC();
    private Path trailFile;
    private Path cloudTrailDir;
    private Duration deliveryInterval = Duration.ofSeconds(1);
    private int recordsPerFile = 100;
    private String region = "us-east-1";
    private String accountId = "111122223333";
    private int maxBodyBytes = 64 * 1024;
    private Duration propagationWindow = Duration.ZERO;
    private Long propagationSeed;
    private List<String> newKeyErrors = List.of();
    private double requestRate;
    private int requestBurst;

    private Builder() {}

    /**
     * KMS's request quota: at most {@code perSecond} cryptographic requests (Encrypt, Decrypt,
     * ReEncrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext) per second on LocalKms's clock,
     * shared by all operations and keys of one calling account, with bursts of up to {@code burst}
     * requests; requests above it get {@code ThrottlingException}. Default: no limit.
     */
    public Builder requestRate(double perSecond, int burst) {
      if (!(perSecond > 0) || Double.isInfinite(perSecond) || burst < 1) {
        throw new IllegalArgumentException(
            "request rate must be positive and finite, burst at least 1");
      }
      this.requestRate = perSecond;
      this.requestBurst = burst;
      return this;
    }

    /** {@link #requestRate(double, int)} with a burst of one second's requests (at least 1). */
    public Builder requestRate(double perSecond) {
      return requestRate(perSecond, (int) Math.max(1, Math.min(Integer.MAX_VALUE, perSecond)));
    }

    /**
     * Eventual consistency, as KMS documents it: for this long (on LocalKms's clock) after
     * DisableKey, EnableKey, ScheduleKeyDeletion, CancelKeyDeletion or PutKeyPolicy, each
     * data-plane request (Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, DescribeKey) on that key
     * independently sees the key's state and policy from before or after the change, at random;
     * afterwards only the new ones. Key-management requests (the changes themselves, GetKeyPolicy,
     * ListKeys, CreateGrant) always see the latest state. {@link Duration#ZERO} (the default)
     * switches propagation off.
     */
    public Builder propagationWindow(Duration window) {
      Objects.requireNonNull(window, "window");
      if (window.isNegative()) {
        throw new IllegalArgumentException("propagation window must not be negative");
      }
      this.propagationWindow = window;
      return this;
    }

    /**
     * Seeds the per-request old-or-new choices of {@link #propagationWindow}, so that a sequence of
     * requests sees the same views on every run. Default: a random seed, reported by {@link
     * LocalKms#propagationSeed()}.
     */
    public Builder propagationSeed(long seed) {
      this.propagationSeed = seed;
      return this;
    }

    /**
     * New keys propagate too: within one {@link #propagationWindow} after CreateKey, each
     * data-plane request on the new key independently sees it as not yet created (and gets one of
     * these errors, chosen at random) or as created. Codes: {@code NotFoundException}, {@code
     * KMSInvalidStateException}. None (the default) switches this off; it needs a non-zero window.
     */
    public Builder newKeyErrors(String... errorCodes) {
      List<String> codes = List.of(errorCodes);
      KmsEngine.checkNewKeyErrors(codes);
      this.newKeyErrors = codes;
      return this;
    }

    /** The port on 127.0.0.1; 0 (the default) picks a free one. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
      this.port = port;
      return this;
    }

    /** The clock for event times, creation and deletion dates (key deletion follows it). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Also append every trail event as one JSON line to this file. */
    public Builder trailFile(Path trailFile) {
      this.trailFile = trailFile;
      return this;
    }

    /**
     * Also deliver the trail as CloudTrail log files in {@code dir} (testkit README, CloudTrail).
     */
    public Builder cloudTrailDirectory(Path dir) {
      this.cloudTrailDir = Objects.requireNonNull(dir, "dir");
      return this;
    }

    /** How often buffered CloudTrail records are delivered (default 1 s; CloudTrail's ~5 min). */
    public Builder cloudTrailDeliveryInterval(Duration interval) {
      this.deliveryInterval = CloudTrailDelivery.checkInterval(interval);
      return this;
    }

    /** The most records in one CloudTrail log file, delivered once buffered (default 100). */
    public Builder cloudTrailRecordsPerFile(int records) {
      this.recordsPerFile = CloudTrailDelivery.checkRecordsPerFile(records);
      return this;
    }

    public Builder region(String region) {
      this.region = Objects.requireNonNull(region, "region");
      return this;
    }

    /** The customer's (key) account id, 12 digits. */
    public Builder accountId(String accountId) {
      if (!accountId.matches("\\d{12}")) {
        throw new IllegalArgumentException("account id must be 12 digits");
      }
      this.accountId = accountId;
      return this;
    }

    /** The largest request body accepted (default 64 KiB); larger ones are refused unread. */
    public Builder maxBodyBytes(int maxBodyBytes) {
      if (maxBodyBytes < 1024) {
        throw new IllegalArgumentException("maxBodyBytes must be at least 1024");
      }
      this.maxBodyBytes = maxBodyBytes;
      return this;
    }

    public LocalKms start() {
      return new LocalKms(this);
    }
  }

  /** {@code http://127.0.0.1:PORT}. */
  public URI endpoint() {
    return endpoint;
  }

  public String region() {
    return region;
  }

  /** The customer's (key) account id. */
  public String accountId() {
    return accountId;
  }

  /** The customer's key administrator, {@code arn:aws:iam::ACCOUNT:role/KeyAdmin}. */
  public Principal admin() {
    return admin;
  }

  /**
   * The vendor's workers: the assumed-role session {@value #VENDOR_SESSION_ARN} of the role {@value
   * #VENDOR_ROLE_ARN} (its {@link Principal#roleArn()}).
   */
  public Principal vendor() {
    return vendor;
  }

  /**
   * Registers a caller: a new random access key id and secret for this principal ARN, an IAM
   * principal ({@code arn:aws:iam::...}) or an assumed-role session ({@code
   * arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION}; policies naming the role match it).
   */
  public Principal addPrincipal(String principalArn) {
    return principals.add(principalArn);
  }

  /**
   * The seed's key policy as AWS-shaped JSON: a {@code CustomerKeyAdministration} statement
   * allowing {@code kms:*} to {@link #admin()}, and the seed's {@code PanOpsServiceAccess}
   * statement allowing {@link #vendor()} only {@code kms:Encrypt}, {@code kms:Decrypt}, {@code
   * kms:ReEncrypt*}, {@code kms:GenerateDataKey} and {@code kms:DescribeKey}.
   */
  public String seedKeyPolicy() {
    return SeedKeyPolicy.json(admin.roleArn(), vendor.roleArn());
  }

  /**
   * Creates an Enabled symmetric key with {@link #seedKeyPolicy()}, as the admin.
   *
   * @return the key ARN, {@code arn:aws:kms:REGION:ACCOUNT:key/UUID}
   */
  public String createKey(String description) {
    ObjectNode req = MAPPER.createObjectNode();
    if (description != null) {
      req.put("Description", description);
    }
    req.put("Policy", seedKeyPolicy());
    return adminCall("CreateKey", req).get("KeyMetadata").get("Arn").asText();
  }

  /** The customer disables the key (as the admin): cryptographic calls get DisabledException. */
  public void disableKey(String keyIdOrArn) {
    adminCall("DisableKey", keyRequest(keyIdOrArn));
  }

  /**
   * Puts the key into {@code PendingImport} (its imported key material expired or was deleted) or
   * {@code Unavailable} (its custom key store was disconnected), or back to {@code Enabled}: states
   * LocalKms has no other way to reach. Cryptographic calls then get {@code
   * KMSInvalidStateException} ("... is pending import." / "... is unavailable.", as KMS words it).
   */
  public void forceKeyState(String keyIdOrArn, String state) {
    engine.forceKeyState(keyIdOrArn, state);
  }

  /**
   * The customer grants {@code granteePrincipal} (an IAM role or principal ARN; its assumed-role
   * sessions match) the {@code operations} (e.g. {@code "Decrypt"}) on the key, as the admin. A
   * grant gives access the key policy does not deny explicitly, so it keeps working after the
   * policy statement is removed: a kill switch must revoke it too.
   *
   * @return the grant id
   */
  public String createGrant(String keyIdOrArn, String granteePrincipal, String... operations) {
    ObjectNode req = keyRequest(keyIdOrArn);
    req.put("GranteePrincipal", granteePrincipal);
    ArrayNode ops = req.putArray("Operations");
    for (String op : operations) {
      ops.add(op);
    }
    return adminCall("CreateGrant", req).get("GrantId").asText();
  }

  /** The customer revokes a grant (as the admin). */
  public void revokeGrant(String keyIdOrArn, String grantId) {
    ObjectNode req = keyRequest(keyIdOrArn);
    req.put("GrantId", grantId);
    adminCall("RevokeGrant", req);
  }

  /** The customer enables the key again (as the admin). */
  public void enableKey(String keyIdOrArn) {
    adminCall("EnableKey", keyRequest(keyIdOrArn));
  }

  /**
   * The customer schedules the key's deletion (as the admin), 7 to 30 days ahead on LocalKms's
   * clock. The key is PendingDeletion until then and deleted for real once the clock passes it.
   */
  public void scheduleKeyDeletion(String keyIdOrArn, int pendingWindowDays) {
    ObjectNode req = keyRequest(keyIdOrArn);
    req.put("PendingWindowInDays", pendingWindowDays);
    adminCall("ScheduleKeyDeletion", req);
  }

  /** Cancels a scheduled deletion (as the admin); as in KMS the key is then Disabled. */
  public void cancelKeyDeletion(String keyIdOrArn) {
    adminCall("CancelKeyDeletion", keyRequest(keyIdOrArn));
  }

  /** Replaces the key's policy (as the admin, with KMS's lockout safety check). */
  public void putKeyPolicy(String keyIdOrArn, String policyJson) {
    ObjectNode req = keyRequest(keyIdOrArn);
    req.put("PolicyName", "default");
    req.put("Policy", policyJson);
    adminCall("PutKeyPolicy", req);
  }

  /**
   * Changes the propagation window for key changes made from now on; windows already open run to
   * their end. {@link Duration#ZERO} switches propagation off for later changes.
   */
  public void propagationWindow(Duration window) {
    engine.propagation(window, null);
  }

  /**
   * Sets KMS's request quota at run time (see {@link Builder#requestRate(double, int)}); the
   * buckets start full.
   */
  public void requestRate(double perSecond, int burst) {
    engine.requestRate(perSecond, burst);
  }

  /** Switches the request quota off (the default). */
  public void unlimitedRequestRate() {
    engine.unlimitedRequestRate();
  }

  /** The seed of the propagation choices (the builder's, or the random one LocalKms chose). */
  public long propagationSeed() {
    return propagationSeed;
  }

  /** Ends every open propagation window now: from now on every request sees the latest state. */
  public void settlePropagation() {
    engine.settlePropagation();
  }

  /**
   * When the last open propagation window of this key ends, on LocalKms's clock; empty if every
   * request already sees its latest state.
   *
   * @throws LocalKmsException {@code NotFoundException} if there is no such key
   */
  public Optional<Instant> propagationSettlesAt(String keyIdOrArn) {
    return engine.propagationSettlesAt(Objects.requireNonNull(keyIdOrArn, "keyIdOrArn"));
  }

  /** A snapshot of the trail, oldest first. */
  public List<TrailEvent> trail() {
    return trail.snapshot();
  }

  /** Empties the in-memory trail (a trail file keeps its lines). */
  public void clearTrail() {
    trail.clear();
  }

  /**
   * Deletes the keys whose deletion date has come (their DeleteKey records go too), delivers the
   * buffered CloudTrail records now and returns the last file written (empty if none was).
   */
  public Optional<Path> deliverCloudTrail() {
    engine.purgeExpired();
    return trail.deliverCloudTrail();
  }

  /** CloudTrail deliveries that failed (files not written); requests never fail for them. */
  public int cloudTrailDeliveryFailures() {
    return trail.cloudTrailFailures();
  }

  /** Fault injection for wire requests. */
  public Faults faults() {
    return faults;
  }

  /** Stops the server, delivers the CloudTrail records still buffered, closes the trail file. */
  @Override
  public void close() {
    try {
      server.close();
    } finally {
      trail.close();
    }
  }

  private static ObjectNode keyRequest(String keyIdOrArn) {
    Objects.requireNonNull(keyIdOrArn, "keyIdOrArn");
    ObjectNode req = MAPPER.createObjectNode();
    req.put("KeyId", keyIdOrArn);
    return req;
  }

  private JsonNode adminCall(String operation, ObjectNode request) {
    return engine.execute(admin, operation, request, UUID.randomUUID().toString(), null);
  }

  @Override
  public String toString() {
    return "LocalKms[" + endpoint + ", region " + region + ", account " + accountId + "]";
  }
}
