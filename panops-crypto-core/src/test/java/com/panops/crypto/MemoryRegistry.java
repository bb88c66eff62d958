package com.panops.crypto;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/** An in-memory {@link DataKeyRegistry} for unit tests of the core's own logic. */
final class MemoryRegistry implements DataKeyRegistry {
  private record Key(String tenant, long id) {}

  private final ConcurrentHashMap<Key, RegisteredDataKey> rows = new ConcurrentHashMap<>();
  final AtomicLong registers = new AtomicLong();
  final AtomicLong lookups = new AtomicLong();

  @Override
  public boolean register(RegisteredDataKey key) {
    registers.incrementAndGet();
    return rows.putIfAbsent(new Key(key.tenantId(), key.keyId()), key) == null;
  }

  @Override
  public RegisteredDataKey lookup(String tenantId, long keyId) {
    lookups.incrementAndGet();
    return rows.get(new Key(tenantId, keyId));
  }

  List<RegisteredDataKey> all() {
    return List.copyOf(rows.values());
  }

  void replace(RegisteredDataKey row, UnaryOperator<RegisteredDataKey> change) {
    rows.put(new Key(row.tenantId(), row.keyId()), change.apply(row));
  }

  void put(RegisteredDataKey row) {
    rows.put(new Key(row.tenantId(), row.keyId()), row);
  }

  void delete(RegisteredDataKey row) {
    rows.remove(new Key(row.tenantId(), row.keyId()));
  }
}
