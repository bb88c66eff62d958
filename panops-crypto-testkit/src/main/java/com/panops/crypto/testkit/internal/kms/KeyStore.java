package com.panops.crypto.testkit.internal.kms;

import com.panops.crypto.testkit.LocalKmsException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The keys of one account in one region, in creation order, and the ids of those deleted for real.
 * A key pending deletion is deleted for real (its material wiped) once the clock reaches its
 * DeletionDate, checked by {@link #purgeExpired()} at the start of every call; afterwards every use
 * of it is a {@code NotFoundException}. Not thread-safe: used under the engine's lock.
 */
final class KeyStore {

  static final Pattern UUID_PATTERN =
      Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  private static final Pattern KEY_ARN = Pattern.compile("arn:aws:kms:([^:]+):([^:]+):key/(.+)");

  private final Clock clock;
  private final String region;
  private final String accountId;
  private final Map<UUID, KeyRecord> keys = new LinkedHashMap<>();
  private final Set<UUID> deleted = new HashSet<>();
  private final Propagation propagation = new Propagation();
  private Consumer<KeyRecord> onDeleted = k -> {};

  KeyStore(Clock clock, String region, String accountId) {
    this.clock = clock;
    this.region = region;
    this.accountId = accountId;
  }

  Instant now() {
    return clock.instant();
  }

  String accountId() {
    return accountId;
  }

  Propagation propagation() {
    return propagation;
  }

  /** The ARN of the key with this UUID in this store's region and account. */
  String keyArn(String uuid) {
    return "arn:aws:kms:" + region + ":" + accountId + ":key/" + uuid;
  }

  /** Called with each key as it is deleted for real (its deletion date set, its material wiped). */
  void onDeleted(Consumer<KeyRecord> listener) {
    this.onDeleted = listener;
  }

  /** Deletes for real every key whose deletion date has come. */
  void purgeExpired() {
    Instant now = clock.instant();
    for (Iterator<KeyRecord> it = keys.values().iterator(); it.hasNext(); ) {
      KeyRecord k = it.next();
      if (k.state == KeyState.PendingDeletion && !now.isBefore(k.deletionDate)) {
        Arrays.fill(k.material, (byte) 0);
        deleted.add(k.id);
        it.remove();
        onDeleted.accept(k);
      }
    }
  }

  /** The key a key id or key ARN names; aliases and foreign ARNs are not found. */
  KeyRecord resolve(String keyId) {
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
          "Key '" + keyArn(uuid.toLowerCase(Locale.ROOT)) + "' does not exist");
    }
    return k;
  }

  /** The key the request's {@code member} names (required), recorded for the trail. */
  KeyRecord named(Requests r, String member, CallRecord rec) {
    KeyRecord k = resolve(r.string(member, true, Requests.MAX_KEY_ID));
    if (rec != null) {
      rec.keyArn = k.arn;
    }
    return k;
  }

  /** The key with this UUID, or empty if there is none (never created, or deleted). */
  Optional<KeyRecord> byId(UUID id) {
    return Optional.ofNullable(keys.get(id));
  }

  /** Whether a key with this UUID existed and was deleted for real. */
  boolean wasDeleted(UUID id) {
    return deleted.contains(id);
  }

  void add(KeyRecord k) {
    keys.put(k.id, k);
  }

  /** Every key, in creation order. */
  List<KeyRecord> all() {
    return new ArrayList<>(keys.values());
  }

  /** Call before changing a key's state or policy: requests may see the old view for a while. */
  void superseding(KeyRecord k) {
    propagation.superseding(k, clock.instant());
  }

  /** The view of the key a data-plane request sees (see {@link Propagation#seen}). */
  KeyView seen(KeyRecord k) {
    return propagation.seen(k, clock.instant());
  }
}
