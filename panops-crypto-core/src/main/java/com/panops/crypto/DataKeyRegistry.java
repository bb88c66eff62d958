package com.panops.crypto;

/**
 * Where the data keys of compact values are registered (docs/FORMAT.md, "Compact values"): one row
 * per data key, written once when the encryption cache needs a new data key, and read (the core
 * caches rows) to decrypt a value that refers to it by its key id. The rows hold nothing secret:
 * the data key is wrapped by the tenant's CMK, and its commitment lets the core detect a row that
 * was altered (see {@link RegisteredDataKey}).
 *
 * <p>The JDBC module's {@code PostgresDataKeyRegistry} keeps the rows in a table beside the values
 * they serve. Implementations must be thread-safe, and must throw {@link DataKeyRegistryException}
 * (never a checked exception, never a partial row) when the store cannot answer.
 */
public interface DataKeyRegistry {
  /**
   * Stores {@code key} if no row with its tenant and key id exists; never overwrites. The row must
   * be durable (committed) when this returns {@code true}: values referring to it are written
   * after.
   *
   * @return {@code true} if stored, {@code false} if the tenant already has a row with that key id
   *     (the core then draws another id)
   * @throws DataKeyRegistryException if the store cannot answer
   */
  boolean register(RegisteredDataKey key);

  /**
   * The row of {@code tenantId} with {@code keyId}, or {@code null} if there is none.
   *
   * @throws DataKeyRegistryException if the store cannot answer
   * @throws IllegalArgumentException if the row exists but its fields cannot form a {@link
   *     RegisteredDataKey} (as its constructor throws; e.g. a commitment that is not 32 bytes): the
   *     core reports such a row as altered, with a {@link RegisteredKeyException} naming {@code
   *     keyId}
   */
  RegisteredDataKey lookup(String tenantId, long keyId);
}
