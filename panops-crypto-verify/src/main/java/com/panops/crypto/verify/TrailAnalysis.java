package com.panops.crypto.verify;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The analysis the records flow into, in event-time order: the customer's key changes and the
 * vendor's data calls, per key; and, when an audit log was given, the reconciliation.
 */
final class TrailAnalysis implements Consumer<KmsRecord> {

  /** The customer's changes that can cut the vendor off or let it back. */
  static final Set<String> CHANGES =
      Set.of(
          "DisableKey",
          "EnableKey",
          "ScheduleKeyDeletion",
          "CancelKeyDeletion",
          "DeleteKey",
          "PutKeyPolicy",
          "CreateKey",
          "CreateGrant",
          "RevokeGrant",
          "RetireGrant",
          "DeleteImportedKeyMaterial",
          "DeleteExpiredKeyMaterial",
          "ImportKeyMaterial");

  final Map<String, KeyTrack> keys = new TreeMap<>();
  final InputStats stats;
  final Settings settings;
  final Reconciler reconciler;

  /** What the analysis was told. */
  record Settings(
      Vendors vendors, Duration propagationWindow, Duration reorderWindow, String probeUserAgent) {}

  TrailAnalysis(Settings settings, InputStats stats, Reconciler reconciler) {
    this.settings = settings;
    this.stats = stats;
    this.reconciler = reconciler;
  }

  /** Cryptographic uses of a key (a success of any of them while cut off is a violation). */
  private static final Set<String> USES =
      Set.of(
          "Decrypt",
          "Encrypt",
          "GenerateMac",
          "VerifyMac",
          "Sign",
          "Verify",
          "DeriveSharedSecret",
          "Decapsulate");

  static boolean dataCall(String eventName) {
    return USES.contains(eventName)
        || eventName.startsWith("GenerateDataKey")
        || eventName.startsWith("ReEncrypt");
  }

  /** Data calls by a vendor principal, over the whole trail. */
  long vendorCalls;

  @Override
  public void accept(KmsRecord r) {
    try {
      analyse(r);
    } catch (RuntimeException e) {
      // a record that breaks the analysis is not skipped silently: the input is then incomplete
      stats.malformed(
          r.source(),
          0,
          "record "
              + r.eventId()
              + " could not be analysed ("
              + e.getClass().getSimpleName()
              + ")");
    }
  }

  /**
   * A record too late to place in order, or a copy of a record with different content: a vendor
   * success in it is still checked against the cuts already known.
   */
  void late(KmsRecord r) {
    if (r.failed() || !dataCall(r.eventName())) {
      return;
    }
    String account = Vendors.account(r);
    for (String keyArn : r.keyArns()) {
      KeyTrack key = keys.get(keyArn);
      // checked against the cuts of its time (not against grants or policies of that time)
      if (key != null && settings.vendors().isVendor(r.principal(), account, key.account())) {
        key.track(r.principal(), account).lateSuccess(r, settings.propagationWindow());
      }
    }
  }

  private void analyse(KmsRecord r) {
    stats.analysed(r);
    String name = r.eventName();
    boolean change = CHANGES.contains(name);
    String account = Vendors.account(r);
    if (change && !r.failed() && r.keyArns().isEmpty()) {
      stats.undetermined(
          r, "a change that names no key (an alias, a grant token): its key is unknown");
    }
    for (String keyArn : r.keyArns()) {
      KeyTrack key = keys.computeIfAbsent(keyArn, k -> new KeyTrack(k, stats));
      boolean vendor = settings.vendors().isVendor(r.principal(), account, key.account());
      if (change) {
        key.change(r);
      } else if (vendor && dataCall(name)) {
        boolean probe =
            name.equals("Decrypt")
                && r.userAgent() != null
                && r.userAgent().contains(settings.probeUserAgent());
        vendorCalls++;
        key.call(r, r.principal(), account, probe, settings.propagationWindow());
      }
    }
    if (reconciler != null && isVendorRecord(r, account)) {
      reconciler.trail(r);
    }
  }

  private boolean isVendorRecord(KmsRecord r, String account) {
    for (String keyArn : r.keyArns()) {
      if (settings.vendors().isVendor(r.principal(), account, keys.get(keyArn).account())) {
        return true;
      }
    }
    return r.keyArns().isEmpty() && settings.vendors().isVendor(r.principal(), account, null);
  }
}
