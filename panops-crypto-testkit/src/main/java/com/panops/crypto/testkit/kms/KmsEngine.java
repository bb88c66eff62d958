package com.panops.crypto.testkit.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.testkit.LocalKmsException;
import com.panops.crypto.testkit.Principal;
import com.panops.crypto.testkit.TrailEvent;
import java.math.BigDecimal;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The KMS operations, the key store and the policy checks: one code path for wire requests (after
 * the HTTP layer has authenticated the caller) and for LocalKms's in-process customer actions.
 * Every call, allowed or refused, is appended to the {@link Trail}.
 *
 * <p>Key states follow KMS: cryptographic operations need an Enabled key ({@code DisabledException}
 * when Disabled, {@code KMSInvalidStateException} when PendingDeletion); DescribeKey, GetKeyPolicy,
 * PutKeyPolicy and ListKeys work in every state; CancelKeyDeletion leaves the key Disabled, as KMS
 * does. A key pending deletion is deleted for real as soon as the clock reaches its DeletionDate
 * (checked at the start of every call); afterwards every use of it, including Decrypt of its old
 * ciphertexts, is a {@code NotFoundException}.
 *
 * <p>With a propagation window, each key keeps the views (state, deletion date, policy) its changes
 * superseded until the window after each change has passed; data-plane operations (Encrypt,
 * Decrypt, ReEncrypt, GenerateDataKey*, DescribeKey) see one of the open views or the latest,
 * uniformly at random per request; key management always sees the latest. With a request rate, wire
 * requests for cryptographic operations take a token from their calling account's bucket or are
 * throttled.
 */
public final class KmsEngine {

  static final ObjectMapper MAPPER =
      new ObjectMapper().enable(SerializationFeature.WRITE_BIGDECIMAL_AS_PLAIN);

  private static final String SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT";
  private static final Set<String> ALGORITHMS =
      Set.of(SYMMETRIC_DEFAULT, "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE");
  private static final Set<String> GRANT_OPERATIONS =
      Set.of(
          "Decrypt",
          "Encrypt",
          "GenerateDataKey",
          "GenerateDataKeyWithoutPlaintext",
          "ReEncryptFrom",
          "ReEncryptTo",
          "Sign",
          "Verify",
          "GetPublicKey",
          "CreateGrant",
          "RetireGrant",
          "DescribeKey",
          "GenerateDataKeyPair",
          "GenerateDataKeyPairWithoutPlaintext",
          "GenerateMac",
          "VerifyMac",
          "DeriveSharedSecret");
  private static final Set<String> CRYPTO_OPS = Set.of("Encrypt", "Decrypt", "ReEncrypt");

  /** The operations that share KMS's request quota for cryptographic operations. */
  private static final Set<String> RATE_LIMITED_OPS =
      Set.of(
          "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext");

  private static final Pattern UUID_PATTERN =
      Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  private static final Pattern KEY_ARN = Pattern.compile("arn:aws:kms:([^:]+):([^:]+):key/(.+)");
  private static final int MAX_KEY_ID = 2048;
  private static final int MAX_PLAINTEXT = 4096;
  private static final int MAX_CIPHERTEXT = 6144;
  private static final int MAX_POLICY = 131072;

  enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
    /** Imported key material is missing (expired or deleted): KMS answers KMSInvalidState. */
    PendingImport,
    /** The key's custom key store is disconnected: KMS answers KMSInvalidState. */
    Unavailable
  }

  /**
   * Puts a key into {@code PendingImport} or {@code Unavailable} (or back to {@code Enabled}), the
   * states KMS reaches for keys with imported material or in a custom key store, which LocalKms
   * does not otherwise model. Not recorded in the trail (no KMS operation does this directly);
   * propagates like any other change.
   */
  public void forceKeyState(String keyIdOrArn, String state) {
    KeyState target = KeyState.valueOf(state);
    if (target != KeyState.PendingImport
        && target != KeyState.Unavailable
        && target != KeyState.Enabled) {
      throw new IllegalArgumentException("use the KMS operations for " + state);
    }
    synchronized (lock) {
      purgeExpired();
      KeyRecord k = resolve(keyIdOrArn);
      if (k.state == KeyState.PendingDeletion) {
        throw new IllegalStateException(k.arn + " is pending deletion");
      }
      superseding(k);
      k.state = target;
    }
  }

  /**
   * A key's state and policy as one data-plane request sees it; {@code created} is false for the
   * view of a key that is not yet visible (the moments after CreateKey).
   */
  private record KeyView(boolean created, KeyState state, Instant deletionDate, KeyPolicy policy) {}

  /** An earlier view of a key that requests may still see until {@code until}. */
  private record Superseded(KeyView view, Instant until) {}

  /** A grant: the grantee (an IAM principal or role ARN) may call these operations. */
  private record Grant(String id, String grantee, Set<String> operations) {
    boolean allows(Principal caller, String action) {
      String op = action.startsWith("kms:") ? action.substring(4) : action;
      boolean who = grantee.equals(caller.arn()) || grantee.equals(KeyPolicy.roleOf(caller.arn()));
      return who && operations.contains(op);
    }
  }

  private static final KeyView NOT_YET_CREATED = new KeyView(false, null, null, null);

  private static final class KeyRecord {
    final UUID id;
    final String arn;
    final byte[] material;
    final String description;
    final Instant created;
    KeyState state = KeyState.Enabled;
    Instant deletionDate;
    String policyText;
    KeyPolicy policy;

    /** Grants in force (not part of a view: a grant or its revocation takes effect at once). */
    final List<Grant> grants = new ArrayList<>();

    /** Earlier views still propagating, oldest first; empty when propagation is off. */
    final List<Superseded> superseded = new ArrayList<>();

    KeyRecord(UUID id, String arn, byte[] material, String description, Instant created) {
      this.id = id;
      this.arn = arn;
      this.material = material;
      this.description = description;
      this.created = created;
    }

    KeyView current() {
      return new KeyView(true, state, deletionDate, policy);
    }

    SecretKey secretKey() {
      return new SecretKeySpec(material, "AES");
    }
  }

  /** What the trail will say about the current call; filled in as the call progresses. */
  private static final class CallRecord {
    String keyArn;
    Map<String, String> context = Map.of();
    String algorithm;
    String destinationKeyArn;
    Map<String, String> destinationContext = Map.of();
  }

  private final Clock clock;
  private final String region;
  private final String accountId;
  private final Trail trail;
  private final Object lock = new Object();
  private final Map<UUID, KeyRecord> keys = new LinkedHashMap<>();
  private final Set<UUID> deleted = new HashSet<>();
  private final SecureRandom random = new SecureRandom();
  // propagation (eventual consistency); guarded by lock
  private Duration propagationWindow = Duration.ZERO;
  private Random propagationRandom = new Random(0);
  private List<String> newKeyErrors = List.of();
  private volatile RequestRate requestRate;

  public KmsEngine(Clock clock, String region, String accountId, Trail trail) {
    this.clock = clock;
    this.region = region;
    this.accountId = accountId;
    this.trail = trail;
  }

  /**
   * Sets the propagation window for key changes made from now on (zero switches propagation off for
   * later changes; windows already open run to their end) and the source of the per-request choice
   * between old and new views.
   */
  public void propagation(Duration window, Random choices) {
    Objects.requireNonNull(window, "window");
    if (window.isNegative()) {
      throw new IllegalArgumentException("propagation window must not be negative");
    }
    synchronized (lock) {
      this.propagationWindow = window;
      if (choices != null) {
        this.propagationRandom = choices;
      }
    }
  }

  /**
   * The errors a request may get for a key created less than one propagation window ago, when it
   * sees the key as not yet created: any of {@code NotFoundException}, {@code
   * KMSInvalidStateException}; empty switches this off.
   */
  public void newKeyErrors(List<String> errorCodes) {
    for (String c : errorCodes) {
      if (!c.equals("NotFoundException") && !c.equals("KMSInvalidStateException")) {
        throw new IllegalArgumentException(
            "new-key errors are NotFoundException or KMSInvalidStateException, not " + c);
      }
    }
    synchronized (lock) {
      this.newKeyErrors = List.copyOf(errorCodes);
    }
  }

  /** Ends every open propagation window: from now on every request sees the latest state. */
  public void settlePropagation() {
    synchronized (lock) {
      for (KeyRecord k : keys.values()) {
        k.superseded.clear();
      }
    }
  }

  /**
   * When the key's last open propagation window ends on the engine's clock; empty if none is open.
   */
  public Optional<Instant> propagationSettlesAt(String keyIdOrArn) {
    synchronized (lock) {
      purgeExpired();
      KeyRecord k = resolve(keyIdOrArn);
      Instant now = clock.instant();
      k.superseded.removeIf(s -> !now.isBefore(s.until()));
      return k.superseded.stream().map(Superseded::until).max(Instant::compareTo);
    }
  }

  /**
   * KMS's request quota for cryptographic operations (Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
   * GenerateDataKeyWithoutPlaintext) of wire requests: a token bucket per calling account of {@code
   * burst} tokens refilled at {@code perSecond} on the engine's clock; above it, {@code
   * ThrottlingException}. Replaces any earlier rate (with full buckets).
   */
  public void requestRate(double perSecond, int burst) {
    this.requestRate = new RequestRate(perSecond, burst);
  }

  /** Switches the request quota off. */
  public void unlimitedRequestRate() {
    this.requestRate = null;
  }

  /** True if LocalKms implements this operation. */
  public static boolean isOperation(String name) {
    return Requests.isOperation(name);
  }

  /** As {@link #execute(Principal, String, JsonNode, String, FaultSource, String)}, no agent. */
  public ObjectNode execute(
      Principal caller, String operation, JsonNode request, String requestId, FaultSource faults) {
    return execute(caller, operation, request, requestId, faults, null);
  }

  /**
   * Runs one operation for an authenticated caller and records it in the trail.
   *
   * <p>Faults before the operation (latency, an injected error, a dropped connection) come first; a
   * connection dropped there leaves no trail record (KMS never handled the request). Faults after
   * the operation (latency after commit, a lost response) come after its outcome is recorded.
   *
   * @param faults the fault plan for wire requests; null for in-process calls
   * @param userAgent the request's {@code User-Agent}, recorded in the trail; null if none
   * @return the response body
   * @throws LocalKmsException the KMS error to answer
   * @throws DropConnectionSignal if a fault says to drop the connection (before or after the work)
   */
  public ObjectNode execute(
      Principal caller,
      String operation,
      JsonNode request,
      String requestId,
      FaultSource faults,
      String userAgent) {
    Instant eventTime = clock.instant();
    CallRecord rec = new CallRecord();
    prefill(rec, operation, request);
    FaultDecision decision = faults == null ? null : faults.decide(operation, rec.keyArn);
    String errorCode = null;
    boolean recorded = true;
    ObjectNode result = null;
    LocalKmsException failure = null;
    try {
      if (faults != null) {
        applyFaults(decision);
        RequestRate rate = requestRate;
        if (rate != null
            && RATE_LIMITED_OPS.contains(operation)
            && !rate.tryAcquire(String.valueOf(KeyPolicy.accountOf(caller.arn())), clock)) {
          throw LocalKmsException.of(
              "ThrottlingException",
              "You have exceeded the rate at which you may call KMS. Reduce the frequency of your"
                  + " calls.");
        }
      }
      synchronized (lock) {
        purgeExpired();
        result = dispatch(caller, operation, new Requests(request), rec);
      }
    } catch (LocalKmsException e) {
      errorCode = e.errorCode();
      failure = e;
    } catch (DropConnectionSignal e) {
      recorded = false; // dropped before KMS handled it: CloudTrail has no record either
      throw e;
    } catch (RuntimeException e) {
      errorCode = "KMSInternalException";
      failure =
          new LocalKmsException(
              "KMSInternalException", 500, "LocalKms failed internally: " + e.getClass().getName());
    } finally {
      if (recorded) {
        trail.append(
            new TrailEvent(
                eventTime,
                operation,
                caller.arn(),
                rec.keyArn,
                rec.context,
                rec.algorithm,
                errorCode,
                requestId,
                caller.sessionIssuerArn(),
                userAgent,
                rec.destinationKeyArn,
                rec.destinationContext));
      }
    }
    if (decision != null && decision.afterCommit()) {
      afterCommit(decision);
    }
    if (failure != null) {
      throw failure;
    }
    return result;
  }

  /** The work is done and recorded: answer late, or not at all. */
  private static void afterCommit(FaultDecision d) {
    if (d.delayAfterCommit() != null && !d.delayAfterCommit().isZero()) {
      try {
        Thread.sleep(d.delayAfterCommit().toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DropConnectionSignal();
      }
    }
    if (d.loseResponse()) {
      throw new DropConnectionSignal();
    }
  }

  /**
   * Records a request refused before it reached an operation (bad signature, unknown caller,
   * malformed body, unknown operation, oversized body).
   */
  public void recordRejected(
      String callerArn, String operation, JsonNode request, String requestId, String errorCode) {
    CallRecord rec = new CallRecord();
    if (request != null && operation != null && isOperation(operation)) {
      prefill(rec, operation, request);
    }
    trail.append(
        new TrailEvent(
            clock.instant(),
            operation,
            callerArn,
            rec.keyArn,
            rec.context,
            rec.algorithm,
            errorCode,
            requestId));
  }

  private void applyFaults(FaultDecision d) {
    if (d == null) {
      return;
    }
    if (d.delay() != null && !d.delay().isZero() && !d.delay().isNegative()) {
      try {
        Thread.sleep(d.delay().toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new LocalKmsException("KMSInternalException", 500, "LocalKms is shutting down.");
      }
    }
    switch (d.action()) {
      case THROTTLE:
        throw LocalKmsException.of("ThrottlingException", "Rate exceeded");
      case INTERNAL_ERROR:
        throw new LocalKmsException(
            "KMSInternalException", 500, "The request was rejected because of an internal error.");
      case KEY_UNAVAILABLE:
        throw new LocalKmsException(
            "KeyUnavailableException",
            500,
            "The request was rejected because the specified KMS key was not available. You can"
                + " retry the request.");
      case DEPENDENCY_TIMEOUT:
        throw new LocalKmsException(
            "DependencyTimeoutException",
            500,
            "The system timed out while trying to fulfill the request. You can retry the"
                + " request.");
      case DROP_CONNECTION:
        throw new DropConnectionSignal();
      default:
        break;
    }
  }

  // ---- trail helpers (never throw) ----

  private void prefill(CallRecord rec, String operation, JsonNode request) {
    if (request == null || !request.isObject()) {
      return;
    }
    String keyId = text(request, operation.equals("ReEncrypt") ? "SourceKeyId" : "KeyId");
    rec.keyArn = keyId == null ? null : arnHint(keyId);
    if (rec.keyArn == null && (operation.equals("Decrypt") || operation.equals("ReEncrypt"))) {
      rec.keyArn = blobKeyArn(text(request, "CiphertextBlob"));
    }
    JsonNode ec =
        request.get(
            operation.equals("ReEncrypt") ? "SourceEncryptionContext" : "EncryptionContext");
    if (ec != null && ec.isObject()) {
      Map<String, String> m = new TreeMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = ec.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getValue().isTextual()) {
          m.put(e.getKey(), e.getValue().asText());
        }
      }
      rec.context = m;
    }
    if (operation.equals("ReEncrypt")) {
      String dest = text(request, "DestinationKeyId");
      rec.destinationKeyArn = dest == null ? null : arnHint(dest);
      JsonNode dec = request.get("DestinationEncryptionContext");
      if (dec != null && dec.isObject()) {
        Map<String, String> m = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = dec.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          if (e.getValue().isTextual()) {
            m.put(e.getKey(), e.getValue().asText());
          }
        }
        rec.destinationContext = m;
      }
    }
    if (CRYPTO_OPS.contains(operation)) {
      String alg =
          text(
              request,
              operation.equals("ReEncrypt") ? "SourceEncryptionAlgorithm" : "EncryptionAlgorithm");
      rec.algorithm = alg == null ? SYMMETRIC_DEFAULT : alg;
    }
  }

  private static String text(JsonNode request, String name) {
    JsonNode n = request.get(name);
    return n != null && n.isTextual() ? n.asText() : null;
  }

  private String arnHint(String keyId) {
    if (UUID_PATTERN.matcher(keyId).matches()) {
      return keyArn(keyId.toLowerCase(java.util.Locale.ROOT));
    }
    if (keyId.startsWith("arn:aws:kms:") && keyId.length() <= MAX_KEY_ID) {
      return keyId;
    }
    return null;
  }

  private String blobKeyArn(String base64) {
    if (base64 == null) {
      return null;
    }
    try {
      return CiphertextBlob.keyIdOf(Base64.getDecoder().decode(base64))
          .map(id -> keyArn(id.toString()))
          .orElse(null);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /** The key ARN a wire request concerns, for fault matching; null if none. */
  private String keyArn(String uuid) {
    return "arn:aws:kms:" + region + ":" + accountId + ":key/" + uuid;
  }

  // ---- key store ----

  private void purgeExpired() {
    Instant now = clock.instant();
    for (Iterator<KeyRecord> it = keys.values().iterator(); it.hasNext(); ) {
      KeyRecord k = it.next();
      if (k.state == KeyState.PendingDeletion && !now.isBefore(k.deletionDate)) {
        Arrays.fill(k.material, (byte) 0);
        deleted.add(k.id);
        it.remove();
      }
    }
  }

  /** Call before changing a key's state or policy: requests may see the old view for a while. */
  private void superseding(KeyRecord k) {
    if (!propagationWindow.isZero()) {
      k.superseded.add(new Superseded(k.current(), clock.instant().plus(propagationWindow)));
    }
  }

  /**
   * The view a data-plane request gets of the key: the latest one, or, while propagation windows
   * are open, one of the latest and the still-propagating earlier views, chosen uniformly at random
   * per request. Throws the configured new-key error if it picked "not yet created".
   */
  private KeyView seen(KeyRecord k) {
    Instant now = clock.instant();
    k.superseded.removeIf(s -> !now.isBefore(s.until()));
    KeyView v;
    if (k.superseded.isEmpty()) {
      v = k.current();
    } else {
      int n = propagationRandom.nextInt(k.superseded.size() + 1);
      v = n == k.superseded.size() ? k.current() : k.superseded.get(n).view();
    }
    if (!v.created()) {
      List<String> errors = newKeyErrors.isEmpty() ? List.of("NotFoundException") : newKeyErrors;
      String code =
          errors.size() == 1 ? errors.get(0) : errors.get(propagationRandom.nextInt(errors.size()));
      if (code.equals("KMSInvalidStateException")) {
        throw LocalKmsException.of(
            "KMSInvalidStateException", k.arn + " is not yet available (it is being created).");
      }
      throw LocalKmsException.of("NotFoundException", "Key '" + k.arn + "' does not exist");
    }
    return v;
  }

  private KeyRecord resolve(String keyId) {
    if (keyId.startsWith("alias/") || keyId.matches("arn:aws:kms:[^:]*:[^:]*:alias/.*")) {
      throw LocalKmsException.of("NotFoundException", "Alias " + keyId + " is not found.");
    }
    String uuid;
    Matcher m = KEY_ARN.matcher(keyId);
    if (m.matches()) {
      if (!m.group(1).equals(region) || !m.group(2).equals(accountId)) {
        throw LocalKmsException.of("NotFoundException", "Key '" + keyId + "' does not exist");
      }
      uuid = m.group(3);
    } else {
      uuid = keyId;
    }
    if (!UUID_PATTERN.matcher(uuid).matches()) {
      throw LocalKmsException.of("NotFoundException", "Invalid keyId '" + keyId + "'");
    }
    KeyRecord k = keys.get(UUID.fromString(uuid));
    if (k == null) {
      throw LocalKmsException.of(
          "NotFoundException",
          "Key '" + keyArn(uuid.toLowerCase(java.util.Locale.ROOT)) + "' does not exist");
    }
    return k;
  }

  private static void requireAllowed(Principal caller, KeyRecord key, String action) {
    requireAllowed(caller, key, key.current(), action);
  }

  private static void requireAllowed(Principal caller, KeyRecord key, KeyView view, String action) {
    requireAllowed(caller, key, view, action, Map.of());
  }

  private static void requireAllowed(
      Principal caller, KeyRecord key, KeyView view, String action, Map<String, String> context) {
    KeyPolicy.Decision d = view.policy().evaluate(caller.arn(), action, context);
    if (d == KeyPolicy.Decision.ALLOW) {
      return;
    }
    if (d == KeyPolicy.Decision.IMPLICIT_DENY) {
      for (Grant g : key.grants) { // a grant allows what the policy does not deny explicitly
        if (g.allows(caller, action)) {
          return;
        }
      }
    }
    String why =
        d == KeyPolicy.Decision.EXPLICIT_DENY
            ? "with an explicit deny in a resource-based policy"
            : "because no resource-based policy allows the " + action + " action";
    throw LocalKmsException.of(
        "AccessDeniedException",
        "User: "
            + caller.arn()
            + " is not authorized to perform: "
            + action
            + " on resource: "
            + key.arn
            + " "
            + why);
  }

  private void requireAccountPrincipal(Principal caller, String action) {
    if (!accountId.equals(KeyPolicy.accountOf(caller.arn()))) {
      throw LocalKmsException.of(
          "AccessDeniedException",
          "User: "
              + caller.arn()
              + " is not authorized to perform: "
              + action
              + " on resource: * because no identity-based policy allows the "
              + action
              + " action");
    }
  }

  private static void requireUsable(KeyRecord key, KeyView view) {
    if (view.state() == KeyState.Disabled) {
      throw LocalKmsException.of("DisabledException", key.arn + " is disabled.");
    }
    if (view.state() == KeyState.PendingDeletion) {
      throw LocalKmsException.of("KMSInvalidStateException", key.arn + " is pending deletion.");
    }
    if (view.state() == KeyState.PendingImport) {
      throw LocalKmsException.of("KMSInvalidStateException", key.arn + " is pending import.");
    }
    if (view.state() == KeyState.Unavailable) {
      throw LocalKmsException.of("KMSInvalidStateException", key.arn + " is unavailable.");
    }
  }

  private static void requireNotPendingDeletion(KeyRecord key) {
    if (key.state == KeyState.PendingDeletion) {
      throw LocalKmsException.of("KMSInvalidStateException", key.arn + " is pending deletion.");
    }
  }

  private static void dryRun(Requests r) {
    if (r.bool("DryRun")) {
      throw new LocalKmsException(
          "DryRunOperationException",
          412,
          "The request would have succeeded, but the DryRun option is set.");
    }
  }

  private static String algorithm(Requests r, String name) {
    String alg = r.string(name, false, 64);
    if (alg == null) {
      return SYMMETRIC_DEFAULT;
    }
    if (!ALGORITHMS.contains(alg)) {
      throw LocalKmsException.of(
          "ValidationException",
          "1 validation error detected: Value '"
              + alg
              + "' at '"
              + Character.toLowerCase(name.charAt(0))
              + name.substring(1)
              + "' failed to satisfy constraint: Member must satisfy enum value set: "
              + ALGORITHMS);
    }
    if (!alg.equals(SYMMETRIC_DEFAULT)) {
      throw LocalKmsException.of(
          "InvalidKeyUsageException",
          "The encryption algorithm " + alg + " is not compatible with a symmetric key.");
    }
    return alg;
  }

  // ---- operations ----

  private ObjectNode dispatch(Principal caller, String operation, Requests r, CallRecord rec) {
    if (!isOperation(operation)) {
      throw LocalKmsException.of("UnknownOperationException", "Unknown operation " + operation);
    }
    r.requireKnownMembers(operation);
    switch (operation) {
      case "CreateKey":
        return createKey(caller, r, rec);
      case "DescribeKey":
        return describeKey(caller, r, rec);
      case "GenerateDataKey":
        return generateDataKey(caller, r, rec, true);
      case "GenerateDataKeyWithoutPlaintext":
        return generateDataKey(caller, r, rec, false);
      case "Encrypt":
        return encrypt(caller, r, rec);
      case "Decrypt":
        return decrypt(caller, r, rec);
      case "ReEncrypt":
        return reEncrypt(caller, r, rec);
      case "EnableKey":
        return setEnabled(caller, r, rec, true);
      case "DisableKey":
        return setEnabled(caller, r, rec, false);
      case "ScheduleKeyDeletion":
        return scheduleKeyDeletion(caller, r, rec);
      case "CancelKeyDeletion":
        return cancelKeyDeletion(caller, r, rec);
      case "PutKeyPolicy":
        return putKeyPolicy(caller, r, rec);
      case "GetKeyPolicy":
        return getKeyPolicy(caller, r, rec);
      case "ListKeys":
        return listKeys(caller, r);
      case "CreateGrant":
        return createGrant(caller, r, rec);
      case "RevokeGrant":
        return revokeGrant(caller, r, rec);
      default:
        throw LocalKmsException.of("UnknownOperationException", "Unknown operation " + operation);
    }
  }

  private KeyRecord key(Requests r, String member, CallRecord rec) {
    KeyRecord k = resolve(r.string(member, true, MAX_KEY_ID));
    if (rec != null) {
      rec.keyArn = k.arn;
    }
    return k;
  }

  private ObjectNode createKey(Principal caller, Requests r, CallRecord rec) {
    requireAccountPrincipal(caller, "kms:CreateKey");
    String description = r.string("Description", false, 8192);
    String usage = r.string("KeyUsage", false, 64);
    String spec = r.string("KeySpec", false, 64);
    String cmkSpec = r.string("CustomerMasterKeySpec", false, 64);
    String origin = r.string("Origin", false, 64);
    r.shape("Tags", true);
    if ((usage != null && !usage.equals("ENCRYPT_DECRYPT"))
        || (spec != null && !spec.equals(SYMMETRIC_DEFAULT))
        || (cmkSpec != null && !cmkSpec.equals(SYMMETRIC_DEFAULT))
        || (origin != null && !origin.equals("AWS_KMS"))
        || r.bool("MultiRegion")
        || r.string("CustomKeyStoreId", false, 64) != null
        || r.string("XksKeyId", false, 128) != null) {
      throw LocalKmsException.of(
          "UnsupportedOperationException",
          "LocalKms supports only single-Region symmetric ENCRYPT_DECRYPT keys of origin AWS_KMS.");
    }
    String policyText = r.string("Policy", false, MAX_POLICY);
    if (policyText == null) {
      policyText = defaultPolicy();
    }
    KeyPolicy policy = parsePolicy(policyText);
    lockoutCheck(caller, policy, r);
    UUID id = UUID.randomUUID();
    byte[] material = new byte[32];
    random.nextBytes(material);
    KeyRecord k = new KeyRecord(id, keyArn(id.toString()), material, description, clock.instant());
    k.policyText = policyText;
    k.policy = policy;
    if (!propagationWindow.isZero() && !newKeyErrors.isEmpty()) {
      k.superseded.add(new Superseded(NOT_YET_CREATED, k.created.plus(propagationWindow)));
    }
    keys.put(id, k);
    rec.keyArn = k.arn;
    ObjectNode out = MAPPER.createObjectNode();
    out.set("KeyMetadata", metadata(k, k.current()));
    return out;
  }

  private String defaultPolicy() {
    ObjectNode p = MAPPER.createObjectNode();
    p.put("Version", "2012-10-17");
    p.put("Id", "key-default-1");
    ArrayNode statements = p.putArray("Statement");
    ObjectNode s = statements.addObject();
    s.put("Sid", "Enable IAM User Permissions");
    s.put("Effect", "Allow");
    s.putObject("Principal").put("AWS", "arn:aws:iam::" + accountId + ":root");
    s.put("Action", "kms:*");
    s.put("Resource", "*");
    return p.toPrettyString();
  }

  private static KeyPolicy parsePolicy(String text) {
    try {
      return KeyPolicy.parse(text);
    } catch (IllegalArgumentException e) {
      throw LocalKmsException.of("MalformedPolicyDocumentException", e.getMessage());
    }
  }

  private static void lockoutCheck(Principal caller, KeyPolicy policy, Requests r) {
    if (!r.bool("BypassPolicyLockoutSafetyCheck")
        && !policy.allows(caller.arn(), "kms:PutKeyPolicy")) {
      throw LocalKmsException.of(
          "MalformedPolicyDocumentException",
          "The new key policy will not allow you to update the key policy in the future.");
    }
  }

  private ObjectNode metadata(KeyRecord k, KeyView v) {
    ObjectNode m = MAPPER.createObjectNode();
    m.put("AWSAccountId", accountId);
    m.put("KeyId", k.id.toString());
    m.put("Arn", k.arn);
    m.put("CreationDate", epochSeconds(k.created));
    m.put("Enabled", v.state() == KeyState.Enabled);
    m.put("Description", k.description == null ? "" : k.description);
    m.put("KeyUsage", "ENCRYPT_DECRYPT");
    m.put("KeyState", v.state().name());
    if (v.deletionDate() != null) {
      m.put("DeletionDate", epochSeconds(v.deletionDate()));
    }
    m.put("Origin", "AWS_KMS");
    m.put("KeyManager", "CUSTOMER");
    m.put("CustomerMasterKeySpec", SYMMETRIC_DEFAULT);
    m.put("KeySpec", SYMMETRIC_DEFAULT);
    m.putArray("EncryptionAlgorithms").add(SYMMETRIC_DEFAULT);
    m.put("MultiRegion", false);
    return m;
  }

  private static BigDecimal epochSeconds(Instant t) {
    return BigDecimal.valueOf(t.toEpochMilli(), 3);
  }

  private ObjectNode describeKey(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = key(r, "KeyId", rec);
    r.stringList("GrantTokens");
    KeyView v = seen(k);
    requireAllowed(caller, k, v, "kms:DescribeKey");
    ObjectNode out = MAPPER.createObjectNode();
    out.set("KeyMetadata", metadata(k, v));
    return out;
  }

  private ObjectNode generateDataKey(
      Principal caller, Requests r, CallRecord rec, boolean withPlaintext) {
    String action = withPlaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext";
    KeyRecord k = key(r, "KeyId", rec);
    Map<String, String> context = r.context("EncryptionContext");
    String keySpec = r.string("KeySpec", false, 64);
    Integer numberOfBytes = r.integer("NumberOfBytes", 1, 1024);
    r.stringList("GrantTokens");
    if (keySpec != null && !keySpec.equals("AES_256") && !keySpec.equals("AES_128")) {
      throw LocalKmsException.of(
          "ValidationException",
          "1 validation error detected: Value '"
              + keySpec
              + "' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set:"
              + " [AES_256, AES_128]");
    }
    if ((keySpec == null) == (numberOfBytes == null)) {
      throw LocalKmsException.of(
          "ValidationException", "Please specify either number of bytes or key spec.");
    }
    KeyView v = seen(k);
    requireAllowed(caller, k, v, action, context);
    requireUsable(k, v);
    if (withPlaintext && r.blob("Recipient", false, 1 << 20) != null) {
      throw LocalKmsException.of(
          "UnsupportedOperationException", "LocalKms does not support Recipient (Nitro enclaves).");
    }
    dryRun(r);
    int n = numberOfBytes != null ? numberOfBytes : keySpec.equals("AES_256") ? 32 : 16;
    byte[] dataKey = new byte[n];
    random.nextBytes(dataKey);
    ObjectNode out = MAPPER.createObjectNode();
    out.put("CiphertextBlob", CiphertextBlob.seal(k.id, k.secretKey(), dataKey, context, random));
    out.put("KeyId", k.arn);
    if (withPlaintext) {
      out.put("Plaintext", dataKey); // the node keeps this array: never wipe it
    } else {
      Arrays.fill(dataKey, (byte) 0);
    }
    return out;
  }

  private ObjectNode encrypt(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = key(r, "KeyId", rec);
    byte[] plaintext = r.blob("Plaintext", true, MAX_PLAINTEXT);
    Map<String, String> context = r.context("EncryptionContext");
    r.stringList("GrantTokens");
    String alg = algorithm(r, "EncryptionAlgorithm");
    KeyView v = seen(k);
    requireAllowed(caller, k, v, "kms:Encrypt", context);
    requireUsable(k, v);
    dryRun(r);
    ObjectNode out = MAPPER.createObjectNode();
    out.put("CiphertextBlob", CiphertextBlob.seal(k.id, k.secretKey(), plaintext, context, random));
    out.put("KeyId", k.arn);
    out.put("EncryptionAlgorithm", alg);
    Arrays.fill(plaintext, (byte) 0);
    return out;
  }

  /** Finds the key a ciphertext blob names, checking an explicitly named key against it. */
  private KeyRecord blobKey(byte[] blob, String explicitKeyId, CallRecord rec) {
    Optional<UUID> id = CiphertextBlob.keyIdOf(blob);
    if (id.isEmpty()) {
      throw invalidCiphertext();
    }
    if (rec != null) {
      rec.keyArn = keyArn(id.get().toString());
    }
    KeyRecord explicit = explicitKeyId == null ? null : resolve(explicitKeyId);
    KeyRecord k = keys.get(id.get());
    if (k == null) {
      if (deleted.contains(id.get())) {
        throw LocalKmsException.of(
            "NotFoundException", "Key '" + keyArn(id.get().toString()) + "' does not exist");
      }
      throw invalidCiphertext();
    }
    if (explicit != null && explicit != k) {
      throw LocalKmsException.of(
          "IncorrectKeyException",
          "The key ID in the request does not identify a KMS key that can perform this"
              + " operation.");
    }
    return k;
  }

  private static LocalKmsException invalidCiphertext() {
    return LocalKmsException.of(
        "InvalidCiphertextException",
        "The ciphertext is invalid, or its encryption context does not match.");
  }

  private static byte[] open(KeyRecord k, byte[] blob, Map<String, String> context) {
    return CiphertextBlob.open(blob, k.secretKey(), context)
        .orElseThrow(KmsEngine::invalidCiphertext);
  }

  private ObjectNode decrypt(Principal caller, Requests r, CallRecord rec) {
    byte[] blob = r.blob("CiphertextBlob", true, MAX_CIPHERTEXT);
    Map<String, String> context = r.context("EncryptionContext");
    String explicitKeyId = r.string("KeyId", false, MAX_KEY_ID);
    r.stringList("GrantTokens");
    r.stringList("DryRunModifiers");
    String alg = algorithm(r, "EncryptionAlgorithm");
    KeyRecord k = blobKey(blob, explicitKeyId, rec);
    KeyView v = seen(k);
    requireAllowed(caller, k, v, "kms:Decrypt", context);
    requireUsable(k, v);
    if (r.blob("Recipient", false, 1 << 20) != null) {
      throw LocalKmsException.of(
          "UnsupportedOperationException", "LocalKms does not support Recipient (Nitro enclaves).");
    }
    byte[] plaintext = open(k, blob, context);
    dryRun(r);
    ObjectNode out = MAPPER.createObjectNode();
    out.put("KeyId", k.arn);
    out.put("Plaintext", plaintext); // the node keeps this array: never wipe it
    out.put("EncryptionAlgorithm", alg);
    return out;
  }

  private ObjectNode reEncrypt(Principal caller, Requests r, CallRecord rec) {
    byte[] blob = r.blob("CiphertextBlob", true, MAX_CIPHERTEXT);
    Map<String, String> sourceContext = r.context("SourceEncryptionContext");
    String sourceKeyId = r.string("SourceKeyId", false, MAX_KEY_ID);
    String destinationKeyId = r.string("DestinationKeyId", true, MAX_KEY_ID);
    Map<String, String> destinationContext = r.context("DestinationEncryptionContext");
    String sourceAlg = algorithm(r, "SourceEncryptionAlgorithm");
    String destinationAlg = algorithm(r, "DestinationEncryptionAlgorithm");
    r.stringList("GrantTokens");
    r.stringList("DryRunModifiers");
    KeyRecord source = blobKey(blob, sourceKeyId, rec);
    KeyView sourceView = seen(source);
    requireAllowed(caller, source, sourceView, "kms:ReEncryptFrom", sourceContext);
    requireUsable(source, sourceView);
    KeyRecord destination = resolve(destinationKeyId);
    rec.destinationKeyArn = destination.arn;
    KeyView destinationView = seen(destination);
    requireAllowed(caller, destination, destinationView, "kms:ReEncryptTo", destinationContext);
    requireUsable(destination, destinationView);
    byte[] plaintext = open(source, blob, sourceContext);
    dryRun(r);
    ObjectNode out = MAPPER.createObjectNode();
    out.put(
        "CiphertextBlob",
        CiphertextBlob.seal(
            destination.id, destination.secretKey(), plaintext, destinationContext, random));
    Arrays.fill(plaintext, (byte) 0);
    out.put("SourceKeyId", source.arn);
    out.put("KeyId", destination.arn);
    out.put("SourceEncryptionAlgorithm", sourceAlg);
    out.put("DestinationEncryptionAlgorithm", destinationAlg);
    return out;
  }

  private ObjectNode setEnabled(Principal caller, Requests r, CallRecord rec, boolean enabled) {
    KeyRecord k = key(r, "KeyId", rec);
    requireAllowed(caller, k, enabled ? "kms:EnableKey" : "kms:DisableKey");
    requireNotPendingDeletion(k);
    superseding(k);
    k.state = enabled ? KeyState.Enabled : KeyState.Disabled;
    return MAPPER.createObjectNode();
  }

  private ObjectNode scheduleKeyDeletion(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = key(r, "KeyId", rec);
    Integer days = r.integer("PendingWindowInDays", 7, 30);
    requireAllowed(caller, k, "kms:ScheduleKeyDeletion");
    requireNotPendingDeletion(k);
    int window = days == null ? 30 : days;
    superseding(k);
    k.state = KeyState.PendingDeletion;
    k.deletionDate = clock.instant().plus(Duration.ofDays(window));
    ObjectNode out = MAPPER.createObjectNode();
    out.put("KeyId", k.arn);
    out.put("DeletionDate", epochSeconds(k.deletionDate));
    out.put("KeyState", k.state.name());
    out.put("PendingWindowInDays", window);
    return out;
  }

  private ObjectNode cancelKeyDeletion(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = key(r, "KeyId", rec);
    requireAllowed(caller, k, "kms:CancelKeyDeletion");
    if (k.state != KeyState.PendingDeletion) {
      throw LocalKmsException.of("KMSInvalidStateException", k.arn + " is not pending deletion.");
    }
    superseding(k);
    k.state = KeyState.Disabled;
    k.deletionDate = null;
    ObjectNode out = MAPPER.createObjectNode();
    out.put("KeyId", k.arn);
    return out;
  }

  private static void policyName(Requests r) {
    String name = r.string("PolicyName", false, 128);
    if (name != null && !name.equals("default")) {
      throw LocalKmsException.of(
          "ValidationException", "The only valid PolicyName is \"default\".");
    }
  }

  private ObjectNode putKeyPolicy(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = key(r, "KeyId", rec);
    policyName(r);
    String text = r.string("Policy", true, MAX_POLICY);
    requireAllowed(caller, k, "kms:PutKeyPolicy");
    KeyPolicy policy = parsePolicy(text);
    lockoutCheck(caller, policy, r);
    superseding(k);
    k.policyText = text;
    k.policy = policy;
    return MAPPER.createObjectNode();
  }

  private ObjectNode getKeyPolicy(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = key(r, "KeyId", rec);
    policyName(r);
    requireAllowed(caller, k, "kms:GetKeyPolicy");
    ObjectNode out = MAPPER.createObjectNode();
    out.put("Policy", k.policyText);
    out.put("PolicyName", "default");
    return out;
  }

  private ObjectNode listKeys(Principal caller, Requests r) {
    requireAccountPrincipal(caller, "kms:ListKeys");
    Integer limit = r.integer("Limit", 1, 1000);
    String marker = r.string("Marker", false, 1024);
    int start = 0;
    List<KeyRecord> all = new ArrayList<>(keys.values());
    if (marker != null) {
      try {
        start = Integer.parseInt(marker);
      } catch (NumberFormatException e) {
        start = -1;
      }
      if (start < 0 || start > all.size()) {
        throw LocalKmsException.of("InvalidMarkerException", "The marker is not valid.");
      }
    }
    int end = Math.min(all.size(), start + (limit == null ? 100 : limit));
    ObjectNode out = MAPPER.createObjectNode();
    ArrayNode list = out.putArray("Keys");
    for (KeyRecord k : all.subList(start, end)) {
      list.addObject().put("KeyId", k.id.toString()).put("KeyArn", k.arn);
    }
    boolean truncated = end < all.size();
    out.put("Truncated", truncated);
    if (truncated) {
      out.put("NextMarker", Integer.toString(end));
    }
    return out;
  }

  private ObjectNode createGrant(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = key(r, "KeyId", rec);
    String grantee = r.string("GranteePrincipal", true, 256);
    r.string("RetiringPrincipal", false, 256);
    r.string("Name", false, 256);
    if (r.shape("Constraints", false) != null) {
      // ignoring a constraint would grant too much
      throw LocalKmsException.of(
          "UnsupportedOperationException", "LocalKms does not support grant constraints.");
    }
    r.stringList("GrantTokens");
    List<String> operations = r.stringList("Operations");
    if (operations.isEmpty()) {
      throw Requests.missing("Operations");
    }
    for (String op : operations) {
      if (!GRANT_OPERATIONS.contains(op)) {
        throw LocalKmsException.of(
            "ValidationException",
            "1 validation error detected: Value '"
                + op
                + "' at 'operations' failed to satisfy constraint: Member must satisfy enum value"
                + " set");
      }
    }
    requireAllowed(caller, k, "kms:CreateGrant");
    requireNotPendingDeletion(k);
    dryRun(r);
    byte[] id = new byte[32];
    random.nextBytes(id);
    byte[] token = new byte[48];
    random.nextBytes(token);
    String grantId = HexFormat.of().formatHex(id);
    k.grants.add(new Grant(grantId, grantee, Set.copyOf(operations)));
    ObjectNode out = MAPPER.createObjectNode();
    out.put("GrantId", grantId);
    out.put("GrantToken", Base64.getUrlEncoder().withoutPadding().encodeToString(token));
    return out;
  }

  private ObjectNode revokeGrant(Principal caller, Requests r, CallRecord rec) {
    KeyRecord k = key(r, "KeyId", rec);
    String grantId = r.string("GrantId", true, 128);
    requireAllowed(caller, k, "kms:RevokeGrant");
    dryRun(r);
    if (!k.grants.removeIf(g -> g.id().equals(grantId))) {
      throw LocalKmsException.of("InvalidGrantIdException", "Grant " + grantId + " is not valid.");
    }
    return MAPPER.createObjectNode();
  }
}
