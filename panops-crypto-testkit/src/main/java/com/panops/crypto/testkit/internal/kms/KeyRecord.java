package com.panops.crypto.testkit.internal.kms;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/** One key in the store: its identity and material, its latest state and policy, its grants. */
final class KeyRecord {

  /** An earlier view of a key that requests may still see until {@code until}. */
  record Superseded(KeyView view, Instant until) {}

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

  /** The latest view: what key management, and data-plane requests after propagation, see. */
  KeyView current() {
    return new KeyView(true, state, deletionDate, policy);
  }

  SecretKey secretKey() {
    return new SecretKeySpec(material, "AES");
  }
}
