package com.panops.crypto.testkit.internal.kms;

/** A key's state, as KMS names it in {@code KeyMetadata.KeyState}. */
enum KeyState {
  Enabled,
  Disabled,
  PendingDeletion,
  /** Imported key material is missing (expired or deleted): KMS answers KMSInvalidState. */
  PendingImport,
  /** The key's custom key store is disconnected: KMS answers KMSInvalidState. */
  Unavailable
}
