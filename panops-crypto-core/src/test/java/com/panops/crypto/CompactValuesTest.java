package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.testkit.FakeKmsClient;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Compact values (format version 2) and the data-key registry, as the core sees them: the overhead,
 * one registry row per data key, every tampered byte, a swapped key reference, altered and deleted
 * registry rows, values moved to another row or tenant or presented under another key context, and
 * the re-wrap of a row. The registry here is in memory (the core's own logic); the PostgreSQL one
 * and the kill switch over LocalKms are tested in the JDBC module.
 */
class CompactValuesTest {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  FakeKmsClient kms;
  String arn;
  String arn2;
  MemoryRegistry registry;
  PanopsCrypto crypto;
  TenantCrypto tenant;

  @BeforeEach
  void setUp() {
    kms = new FakeKmsClient();
    arn = kms.createKey("k");
    arn2 = kms.createKey("k2");
    registry = new MemoryRegistry();
    crypto = build(Map.of("t", TenantKeys.of(arn), "u", TenantKeys.of(arn)), 1_000_000);
    tenant = crypto.tenant("t");
  }

  @AfterEach
  void tearDown() {
    crypto.close();
  }

  private PanopsCrypto build(Map<String, TenantKeys> dir, long maxMessages) {
    return TestCrypto.unprobed(kms, dir)
        .cacheSettings(CacheSettings.builder().encryptMaxMessages(maxMessages).build())
        .dataKeyRegistry(registry)
        .build();
  }

  /**
   * {@code row} as a registry writer could have altered it: moved to {@code tenant}, with this key
   * context, suite and commitment; its key id, CMK, wrapped key and creation time kept.
   */
  private static RegisteredDataKey altered(
      RegisteredDataKey row, String tenant, byte[] keyContext, int suite, byte[] commitment) {
    return new RegisteredDataKey(
        tenant,
        row.keyId(),
        row.keyArn(),
        row.encryptedDataKey(),
        keyContext,
        suite,
        commitment,
        row.created());
  }

  private static byte[] sample(int size) {
    byte[] pt = new byte[size];
    new Random(size).nextBytes(pt);
    return pt;
  }

  /** A reader with empty caches: every row is read from the registry, every data key from KMS. */
  private PanopsCrypto freshReader() {
    return build(Map.of("t", TenantKeys.of(arn), "u", TenantKeys.of(arn)), 1_000_000);
  }

  @Test
  void roundTrip_with38BytesOverhead_andOneRegistryRowPerDataKey_andV1StillReads() {
    for (int size : new int[] {0, 1, 17, 1000, CompactFormat.MAX_PLAINTEXT}) {
      byte[] ct = tenant.encryptCompact(sample(size), KC, AAD);
      assertEquals(size + 38, ct.length, "overhead");
      assertEquals(2, ct[0]);
      assertArrayEquals(sample(size), tenant.decrypt(ct, KC, AAD));
    }
    assertEquals(1, registry.all().size(), "one data key, one row");
    assertEquals(1, kms.generateDataKeyCalls.get());
    byte[] v1 = tenant.encrypt(sample(10), KC, AAD);
    assertArrayEquals(sample(10), tenant.decrypt(v1, KC, AAD));
    assertEquals(2, kms.generateDataKeyCalls.get(), "v1 and compact keys are separate");
    assertEquals(1, registry.all().size(), "v1 keys are not registered");
    assertThrows(
        IllegalArgumentException.class,
        () -> tenant.encryptCompact(new byte[CompactFormat.MAX_PLAINTEXT + 1], KC, AAD));

    try (PanopsCrypto reader = freshReader()) {
      byte[] ct = tenant.encryptCompact(sample(5), KC, AAD);
      long before = registry.lookups.get();
      for (int i = 0; i < 10; i++) {
        assertArrayEquals(sample(5), reader.tenant("t").decrypt(ct, KC, AAD));
      }
      assertEquals(before + 1, registry.lookups.get(), "the row is cached");
      assertEquals(1, kms.decryptCalls.get(), "the data key is cached");
    }
  }

  @Test
  void newDataKeys_areRegisteredOnce_withTheirFields() throws InterruptedException {
    PanopsCrypto small = build(Map.of("t", TenantKeys.of(arn)), 3);
    java.util.Set<Long> used = new java.util.HashSet<>();
    try (small) {
      for (int i = 0; i < 9; i++) {
        used.add(
            CompactFormat.keyId(
                small.tenant("t").encryptCompact(sample(i), KC, MessageAad.of("row", "" + i))));
      }
      // refresh ahead loads the third key's successor in the background before it is spent: let
      // it finish, so the count below is exact
      assertTrue(small.cache.awaitRefreshes(java.time.Duration.ofSeconds(10)));
    }
    List<RegisteredDataKey> rows = registry.all();
    assertEquals(3, used.size(), "9 values, 3 per data key");
    assertEquals(4, rows.size(), "3 data keys used + the successor loaded ahead, each registered");
    assertEquals(4, kms.generateDataKeyCalls.get(), "one registry row per GenerateDataKey");
    assertTrue(rows.stream().map(RegisteredDataKey::keyId).toList().containsAll(used));
    for (RegisteredDataKey r : rows) {
      assertEquals("t", r.tenantId());
      assertEquals(arn, r.keyArn());
      assertEquals(CompactFormat.SUITE, r.suite());
      assertArrayEquals(KC.canonical, r.keyContext());
      assertEquals(32, r.commitment().length);
    }
  }

  private void assertIntegrityOnly(byte[] bad, String what) {
    RuntimeException e =
        assertThrows(RuntimeException.class, () -> tenant.decrypt(bad, KC, AAD), what);
    assertInstanceOf(IntegrityException.class, e, what);
    assertFalse(crypto.isRevoked(arn), what + ": latched the CMK");
  }

  @Test
  void everySingleBitFlip_everyTruncation_andAppendedBytes_areIntegrityExceptions() {
    for (int size : new int[] {0, 33, 300}) {
      byte[] ct = tenant.encryptCompact(sample(size), KC, AAD);
      for (int i = 0; i < ct.length; i++) {
        for (int bit = 0; bit < 8; bit++) {
          byte[] bad = ct.clone();
          bad[i] ^= (byte) (1 << bit);
          assertIntegrityOnly(bad, "size " + size + " flip " + i + "." + bit);
        }
      }
      for (int len = 0; len < ct.length; len++) {
        assertIntegrityOnly(java.util.Arrays.copyOf(ct, len), "size " + size + " cut " + len);
      }
      for (int extra = 1; extra <= 17; extra++) {
        assertIntegrityOnly(java.util.Arrays.copyOf(ct, ct.length + extra), "extra " + extra);
      }
      assertArrayEquals(sample(size), tenant.decrypt(ct, KC, AAD), "the original still reads");
    }
  }

  @Test
  void aFlipInTheKeyId_namesTheMissingKeyId_andNothingElse() {
    byte[] ct = tenant.encryptCompact(sample(8), KC, AAD);
    ct[9] ^= 1;
    RegisteredKeyException e =
        assertThrows(RegisteredKeyException.class, () -> tenant.decrypt(ct, KC, AAD));
    assertTrue(e.isMissing());
    String id = HexFormat.of().formatHex(ct, 2, 10);
    assertEquals(id, e.keyIdHex());
    assertTrue(e.getMessage().contains(id), e.getMessage());
  }

  @Test
  void aSwappedKeyReference_failsIntegrity() {
    PanopsCrypto small = build(Map.of("t", TenantKeys.of(arn)), 1);
    try (small) {
      byte[] a = small.tenant("t").encryptCompact(sample(20), KC, AAD);
      byte[] b = small.tenant("t").encryptCompact(sample(20), KC, AAD);
      assertFalse(java.util.Arrays.equals(a, 2, 10, b, 2, 10), "two data keys");
      byte[] swapped = a.clone();
      System.arraycopy(b, 2, swapped, 2, 8); // a's body under b's (registered, valid) key
      assertThrows(IntegrityException.class, () -> tenant.decrypt(swapped, KC, AAD));
      assertArrayEquals(sample(20), tenant.decrypt(a, KC, AAD));
      assertArrayEquals(sample(20), tenant.decrypt(b, KC, AAD));
    }
  }

  @Test
  void aValueMovedToAnotherRowColumnTableOrTenant_orAnotherKeyContext_failsIntegrity() {
    MessageAad where = MessageAad.of("table", "mail", "column", "subject", "row", "1");
    byte[] ct = tenant.encryptCompact(sample(20), KC, where);
    for (MessageAad other :
        List.of(
            MessageAad.of("table", "mail", "column", "subject", "row", "2"),
            MessageAad.of("table", "mail", "column", "body", "row", "1"),
            MessageAad.of("table", "note", "column", "subject", "row", "1"))) {
      assertThrows(IntegrityException.class, () -> tenant.decrypt(ct, KC, other));
    }
    assertThrows(
        IntegrityException.class, () -> tenant.decrypt(ct, KeyContext.of("class", "chat"), where));
    // tenant u shares the CMK, but has no row with that key id
    RegisteredKeyException e =
        assertThrows(RegisteredKeyException.class, () -> crypto.tenant("u").decrypt(ct, KC, where));
    assertTrue(e.isMissing());
    // even if u had a row with that id (a registry writer copied t's row to u), the value
    // does not authenticate: the tenant is in its AAD and the commitment
    RegisteredDataKey row = registry.all().get(0);
    registry.put(altered(row, "u", row.keyContext(), row.suite(), row.commitment()));
    assertThrows(IntegrityException.class, () -> crypto.tenant("u").decrypt(ct, KC, where));
    assertArrayEquals(sample(20), tenant.decrypt(ct, KC, where));
  }

  @Test
  void aRegistryRowAlteredOrDeleted_failsClosed_namingTheKeyId() {
    PanopsCrypto small = build(Map.of("t", TenantKeys.of(arn), "u", TenantKeys.of(arn)), 1);
    byte[] ct;
    byte[] other;
    try (small) {
      ct = small.tenant("t").encryptCompact(sample(20), KC, AAD);
      other = small.tenant("t").encryptCompact(sample(20), KC, AAD);
    }
    long id = CompactFormat.keyId(ct);
    long otherId = CompactFormat.keyId(other);
    RegisteredDataKey good = registry.lookup("t", id);
    RegisteredDataKey otherRow = registry.lookup("t", otherId);
    byte[] flippedCommitment = good.commitment();
    flippedCommitment[31] ^= 1;
    byte[] flippedEdk = good.encryptedDataKey();
    flippedEdk[flippedEdk.length - 3] ^= 1;
    Map<String, RegisteredDataKey> alterations =
        Map.of(
            // another real data key of the same tenant and context: KMS unwraps it happily
            "wrapped key swapped",
            good.withKeyReference(good.keyArn(), otherRow.encryptedDataKey()),
            "wrapped key flipped",
            good.withKeyReference(good.keyArn(), flippedEdk),
            "commitment",
            altered(good, "t", good.keyContext(), 2, flippedCommitment),
            "CMK not the tenant's",
            good.withKeyReference(arn2, good.encryptedDataKey()),
            "suite",
            altered(good, "t", good.keyContext(), 1, good.commitment()));
    for (Map.Entry<String, RegisteredDataKey> a : alterations.entrySet()) {
      registry.put(a.getValue());
      try (PanopsCrypto reader = freshReader()) {
        RegisteredKeyException e =
            assertThrows(
                RegisteredKeyException.class,
                () -> reader.tenant("t").decrypt(ct, KC, AAD),
                a.getKey());
        assertFalse(e.isMissing(), a.getKey());
        assertTrue(e.getMessage().contains(good.keyIdHex()), e.getMessage());
        assertFalse(reader.isRevoked(arn), a.getKey() + ": latched");
      }
    }
    // the key context in the row altered: the caller's no longer matches
    registry.put(
        altered(good, "t", KeyContext.of("class", "chat").canonical, 2, good.commitment()));
    try (PanopsCrypto reader = freshReader()) {
      assertThrows(IntegrityException.class, () -> reader.tenant("t").decrypt(ct, KC, AAD));
    }
    registry.delete(good);
    try (PanopsCrypto reader = freshReader()) {
      RegisteredKeyException e =
          assertThrows(RegisteredKeyException.class, () -> reader.tenant("t").decrypt(ct, KC, AAD));
      assertTrue(e.isMissing());
    }
    registry.put(good);
    try (PanopsCrypto reader = freshReader()) {
      assertArrayEquals(sample(20), reader.tenant("t").decrypt(ct, KC, AAD), "restored");
    }
  }

  @Test
  void rewrap_movesTheRowToTheNewCmk_withOneReEncrypt_andEveryValueStillReads()
      throws InterruptedException {
    PanopsCrypto oldWriter = build(Map.of("t", TenantKeys.of(arn)), 2);
    byte[][] values = new byte[6][];
    try (oldWriter) {
      for (int i = 0; i < values.length; i++) {
        values[i] = oldWriter.tenant("t").encryptCompact(sample(i), KC, MessageAad.of("r", "" + i));
      }
      // 3 data keys used, and the successor refresh ahead loads for the third: wait for it
      assertTrue(oldWriter.cache.awaitRefreshes(java.time.Duration.ofSeconds(10)));
    }
    assertEquals(4, registry.all().size());
    PanopsCrypto migrating = build(Map.of("t", TenantKeys.of(arn2, List.of(arn))), 2);
    try (migrating) {
      // a reader that cached the rows before the move
      for (int i = 0; i < values.length; i++) {
        migrating.tenant("t").decrypt(values[i], KC, MessageAad.of("r", "" + i));
      }
      for (RegisteredDataKey row : registry.all()) {
        RegisteredDataKey moved = migrating.tenant("t").rewrapRegisteredKey(row);
        assertEquals(arn2, moved.keyArn());
        assertArrayEquals(row.commitment(), moved.commitment());
        assertSame(moved, migrating.tenant("t").rewrapRegisteredKey(moved), "already current");
        registry.put(moved);
      }
      assertEquals(4, kms.reEncryptCalls.get(), "one ReEncrypt per row");
      kms.disable(arn); // the customer retires the old CMK
      // the cached rows name the old CMK: re-read once, then read under the new one
      for (int i = 0; i < values.length; i++) {
        assertArrayEquals(
            sample(i),
            migrating.tenant("t").decrypt(values[i], KC, MessageAad.of("r", "" + i)),
            "value " + i);
      }
    }
    try (PanopsCrypto after = build(Map.of("t", TenantKeys.of(arn2)), 2)) {
      for (int i = 0; i < values.length; i++) {
        assertArrayEquals(
            sample(i), after.tenant("t").decrypt(values[i], KC, MessageAad.of("r", "" + i)));
      }
      RegisteredDataKey foreign =
          new RegisteredDataKey(
              "u", 1, arn2, new byte[] {1}, KC.canonical, 2, new byte[32], java.time.Instant.EPOCH);
      assertThrows(
          RegisteredKeyException.class, () -> after.tenant("t").rewrapRegisteredKey(foreign));
    }
  }

  @Test
  void theCurrentCmkDisabled_refusesCompactValues_withoutRereadingTheRow() {
    PanopsCrypto withProbe =
        TestCrypto.builder(kms, "t", arn)
            .probeSettings(ProbeSettings.every(java.time.Duration.ofSeconds(30)))
            .dataKeyRegistry(registry)
            .build();
    try (withProbe) {
      byte[] ct = withProbe.tenant("t").encryptCompact(sample(3), KC, AAD);
      kms.disable(arn);
      assertFalse(withProbe.probe(arn));
      long lookups = registry.lookups.get();
      assertThrows(KeyRevokedException.class, () -> withProbe.tenant("t").decrypt(ct, KC, AAD));
      assertEquals(lookups, registry.lookups.get(), "no registry read under the kill switch");
      kms.enable(arn);
    }
  }

  @Test
  void withoutARegistry_compactIsRefused_andCompactValuesDoNotDecrypt() {
    byte[] ct = tenant.encryptCompact(sample(3), KC, AAD);
    try (PanopsCrypto plain = TestCrypto.unprobed(kms, "t", arn).build()) {
      assertFalse(plain.hasDataKeyRegistry());
      assertThrows(
          IllegalStateException.class, () -> plain.tenant("t").encryptCompact(ct, KC, AAD));
      assertThrows(IntegrityException.class, () -> plain.tenant("t").decrypt(ct, KC, AAD));
    }
  }

  @Test
  void aRegistryThatFails_failsTheOperation_withATypedError_andNoKeyIsUsed() {
    DataKeyRegistry broken =
        new DataKeyRegistry() {
          @Override
          public boolean register(RegisteredDataKey key) {
            throw new IllegalStateException("connection refused");
          }

          @Override
          public RegisteredDataKey lookup(String tenantId, long keyId) {
            throw new DataKeyRegistryException("down", null);
          }
        };
    try (PanopsCrypto c = TestCrypto.unprobed(kms, "t", arn).dataKeyRegistry(broken).build()) {
      assertThrows(
          DataKeyRegistryException.class,
          () -> c.tenant("t").encryptCompact("x".getBytes(StandardCharsets.UTF_8), KC, AAD));
      byte[] ct = tenant.encryptCompact(sample(3), KC, AAD);
      assertThrows(DataKeyRegistryException.class, () -> c.tenant("t").decrypt(ct, KC, AAD));
    }
  }
}
