package com.panops.crypto.testkit.internal.kms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.testkit.LocalKmsException;
import com.panops.crypto.testkit.Principal;
import com.panops.crypto.testkit.TrailEvent;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;

/**
 * The KMS operations behind LocalKms: one code path for wire requests (after the HTTP layer has
 * authenticated the caller) and for LocalKms's in-process customer actions. Every call, allowed or
 * refused, is appended to the {@link Trail}. Thread-safe: operations run one at a time.
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

  /** The operations that share KMS's request quota for cryptographic operations. */
  private static final Set<String> RATE_LIMITED_OPS =
      Set.of(
          "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext");

  private final Clock clock;
  private final String region;
  private final String accountId;
  private final Trail trail;
  private final Object lock = new Object();
  private final KeyStore keys; // guarded by lock
  private final KeyManagement management;
  private final CryptoOperations crypto;
  private final GrantOperations grants;
  private volatile RequestRate requestRate;

  public KmsEngine(Clock clock, String region, String accountId, Trail trail) {
    this.clock = clock;
    this.region = region;
    this.accountId = accountId;
    this.trail = trail;
    this.keys = new KeyStore(clock, region, accountId);
    if (trail.deliversCloudTrail()) {
      trail.beforeCloudTrailDelivery(this::purgeExpired);
      keys.onDeleted(
          k ->
              trail.serviceEvent(
                  CloudTrailRecord.deleteKey(k.arn, k.deletionDate, region, accountId)));
    }
    SecureRandom random = new SecureRandom();
    this.management = new KeyManagement(keys, random);
    this.crypto = new CryptoOperations(keys, random);
    this.grants = new GrantOperations(keys, random);
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
      keys.purgeExpired();
      KeyRecord k = keys.resolve(keyIdOrArn);
      if (k.state == KeyState.PendingDeletion) {
        throw new IllegalStateException(k.arn + " is pending deletion");
      }
      keys.superseding(k);
      k.state = target;
    }
  }

  /**
   * Sets the propagation window for key changes made from now on (zero switches propagation off for
   * later changes; windows already open run to their end) and the source of the per-request choice
   * between old and new views.
   */
  public void propagation(Duration window, Random choices) {
    synchronized (lock) {
      keys.propagation().configure(window, choices);
    }
  }

  /**
   * Refuses new-key error codes other than {@code NotFoundException} and {@code
   * KMSInvalidStateException} with an IllegalArgumentException.
   */
  public static void checkNewKeyErrors(List<String> errorCodes) {
    Propagation.checkNewKeyErrors(errorCodes);
  }

  /**
   * The errors a request may get for a key created less than one propagation window ago, when it
   * sees the key as not yet created: any of {@code NotFoundException}, {@code
   * KMSInvalidStateException}; empty switches this off.
   */
  public void newKeyErrors(List<String> errorCodes) {
    checkNewKeyErrors(errorCodes);
    synchronized (lock) {
      keys.propagation().newKeyErrors(errorCodes);
    }
  }

  /** Ends every open propagation window: from now on every request sees the latest state. */
  public void settlePropagation() {
    synchronized (lock) {
      for (KeyRecord k : keys.all()) {
        k.superseded.clear();
      }
    }
  }

  /**
   * When the key's last open propagation window ends on the engine's clock; empty if none is open.
   */
  public Optional<Instant> propagationSettlesAt(String keyIdOrArn) {
    synchronized (lock) {
      keys.purgeExpired();
      return Propagation.settlesAt(keys.resolve(keyIdOrArn), clock.instant());
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
    CallRecord rec = CallRecord.prefilled(operation, request, keys);
    FaultDecision decision = faults == null ? null : faults.decide(operation, rec.keyArn);
    String errorCode = null;
    boolean recorded = true;
    ObjectNode result = null;
    LocalKmsException failure = null;
    try {
      result = perform(caller, operation, request, rec, faults != null, decision);
    } catch (LocalKmsException e) {
      errorCode = e.errorCode();
      rec.errorMessage = e.getMessage();
      failure = e;
    } catch (DropConnectionSignal e) {
      recorded = false; // dropped before KMS handled it: CloudTrail has no record either
      throw e;
    } catch (RuntimeException e) {
      errorCode = "KMSInternalException";
      failure =
          new LocalKmsException(
              "KMSInternalException", 500, "LocalKms failed internally: " + e.getClass().getName());
      rec.errorMessage = failure.getMessage();
    } finally {
      if (recorded) {
        TrailEvent event = rec.event(eventTime, operation, caller, errorCode, requestId, userAgent);
        rec.responseElements = CloudTrailRecord.responseElements(operation, result);
        trail.append(event, cloudTrailRecord(event, rec, caller.arn(), caller.accessKeyId()));
      }
    }
    if (decision != null && decision.afterCommit()) {
      InjectedFaults.afterCommit(decision);
    }
    if (failure != null) {
      throw failure;
    }
    return result;
  }

  /** A wire request's faults and quota first, then the operation itself. */
  private ObjectNode perform(
      Principal caller,
      String operation,
      JsonNode request,
      CallRecord rec,
      boolean wire,
      FaultDecision decision) {
    if (wire) {
      InjectedFaults.beforeOperation(decision);
      requireWithinRate(caller, operation);
    }
    synchronized (lock) {
      keys.purgeExpired();
      return dispatch(caller, operation, new Requests(request), rec);
    }
  }

  private void requireWithinRate(Principal caller, String operation) {
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

  /**
   * Records a request refused before it reached an operation (bad signature, unknown caller,
   * malformed body, unknown operation, oversized body).
   */
  public void recordRejected(
      String callerArn, String operation, JsonNode request, String requestId, String errorCode) {
    CallRecord rec =
        request != null && operation != null && isOperation(operation)
            ? CallRecord.prefilled(operation, request, keys)
            : new CallRecord();
    TrailEvent event = rec.rejected(clock.instant(), operation, callerArn, errorCode, requestId);
    trail.append(event, cloudTrailRecord(event, rec, callerArn, null));
  }

  /** The event's CloudTrail record, if the trail delivers CloudTrail log files; else null. */
  private ObjectNode cloudTrailRecord(
      TrailEvent event, CallRecord rec, String callerArn, String accessKeyId) {
    if (!trail.deliversCloudTrail()) {
      return null;
    }
    return CloudTrailRecord.apiCall(
        event, rec, new CloudTrailRecord.Caller(callerArn, accessKeyId), region, accountId);
  }

  /**
   * Deletes for real every key whose deletion date has come (as every call does first), so that its
   * {@code DeleteKey} record is delivered without waiting for a request.
   */
  public void purgeExpired() {
    synchronized (lock) {
      keys.purgeExpired();
    }
  }

  private ObjectNode dispatch(Principal caller, String operation, Requests r, CallRecord rec) {
    if (!isOperation(operation)) {
      throw LocalKmsException.of("UnknownOperationException", "Unknown operation " + operation);
    }
    r.requireKnownMembers(operation);
    switch (operation) {
      case "CreateKey":
        return management.createKey(caller, r, rec);
      case "DescribeKey":
        return management.describeKey(caller, r, rec);
      case "GenerateDataKey":
        return crypto.generateDataKey(caller, r, rec, true);
      case "GenerateDataKeyWithoutPlaintext":
        return crypto.generateDataKey(caller, r, rec, false);
      case "Encrypt":
        return crypto.encrypt(caller, r, rec);
      case "Decrypt":
        return crypto.decrypt(caller, r, rec);
      case "ReEncrypt":
        return crypto.reEncrypt(caller, r, rec);
      case "EnableKey":
        return management.setEnabled(caller, r, rec, true);
      case "DisableKey":
        return management.setEnabled(caller, r, rec, false);
      case "ScheduleKeyDeletion":
        return management.scheduleKeyDeletion(caller, r, rec);
      case "CancelKeyDeletion":
        return management.cancelKeyDeletion(caller, r, rec);
      case "PutKeyPolicy":
        return management.putKeyPolicy(caller, r, rec);
      case "GetKeyPolicy":
        return management.getKeyPolicy(caller, r, rec);
      case "ListKeys":
        return management.listKeys(caller, r);
      case "CreateGrant":
        return grants.createGrant(caller, r, rec);
      case "RevokeGrant":
        return grants.revokeGrant(caller, r, rec);
      default:
        throw LocalKmsException.of("UnknownOperationException", "Unknown operation " + operation);
    }
  }
}
