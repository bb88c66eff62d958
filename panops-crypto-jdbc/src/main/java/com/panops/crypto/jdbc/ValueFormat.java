package com.panops.crypto.jdbc;

/** How an {@link EncryptedColumn} writes new values; reading accepts both whatever is chosen. */
public enum ValueFormat {
  /**
   * Version 1 messages (docs/FORMAT.md): any length, each value carrying its wrapped data key in
   * its header.
   */
  FRAMED,
  /**
   * Compact values (docs/FORMAT.md, "Compact values") for values up to the compact limit, naming
   * their data key by a key id registered in the {@link com.panops.crypto.DataKeyRegistry}; longer
   * values are written {@link #FRAMED}. Needs a registry on the {@link
   * com.panops.crypto.PanopsCrypto}.
   */
  COMPACT
}
