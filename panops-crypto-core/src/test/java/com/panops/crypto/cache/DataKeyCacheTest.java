package com.panops.crypto.cache;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.CacheSettings;
import com.panops.crypto.FakeTicker;
import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.FakeKmsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The data-key cache's limits, single flight and tenant partitioning, on a fake clock and KMS. */
class DataKeyCacheTest {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  final FakeKmsClient kms = new FakeKmsClient();
  final FakeTicker ticker = new FakeTicker();
  final List<PanopsCrypto> opened = new ArrayList<>();

  PanopsCrypto crypto(CacheSettings settings, Map<String, TenantKeys> tenants) {
    PanopsCrypto c =
        TestCrypto.unprobed(kms, tenants).cacheSettings(settings).ticker(ticker).build();
    opened.add(c);
    return c;
  }

  /** Tenant "t" of a new instance with these limits, on a new key of its own. */
  TenantCrypto tenantOnANewKey(CacheSettings settings) {
    String arn = kms.createKey("a");
    return crypto(settings, Map.of("t", TenantKeys.of(arn))).tenant("t");
  }

  @AfterEach
  void close() {
    opened.forEach(PanopsCrypto::close);
  }

  @Test
  void whenEncryptKeyIsOlderThanMaxAge_aNewDataKeyIsGenerated() {
    TenantCrypto t =
        tenantOnANewKey(CacheSettings.builder().encryptMaxAge(Duration.ofMinutes(5)).build());
    t.encrypt(new byte[10], KC, AAD);
    ticker.advance(Duration.ofMinutes(4));
    t.encrypt(new byte[10], KC, AAD);
    assertEquals(1, kms.generateDataKeyCalls.get());
    ticker.advance(Duration.ofMinutes(1).plusSeconds(1));
    t.encrypt(new byte[10], KC, AAD);
    assertEquals(2, kms.generateDataKeyCalls.get());
  }

  @Test
  void whenEncryptKeyIsExhausted_byMessageLimit_aNewDataKeyIsGenerated() {
    TenantCrypto t = tenantOnANewKey(CacheSettings.builder().encryptMaxMessages(3).build());
    List<byte[]> edks = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      byte[] ct = t.encrypt(new byte[10], KC, AAD);
      edks.add(MessageHeader.parse(ct, 0, ct.length).encryptedDataKey());
    }
    assertEquals(3, kms.generateDataKeyCalls.get()); // 3 + 3 + 1
    assertArrayEquals(edks.get(0), edks.get(2));
    assertFalse(Arrays.equals(edks.get(2), edks.get(3)));
  }

  @Test
  void whenEncryptKeyIsExhausted_byByteLimit_aNewDataKeyIsGenerated() {
    TenantCrypto t = tenantOnANewKey(CacheSettings.builder().encryptMaxBytes(1000).build());
    for (int i = 0; i < 5; i++) {
      t.encrypt(new byte[400], KC, AAD); // two fit under 1000 bytes
    }
    assertEquals(3, kms.generateDataKeyCalls.get());
    t.encrypt(new byte[5000], KC, AAD); // larger than the limit: a fresh key of its own
    // ... which it spends at once: the next message needs another key. Refresh ahead loads that
    // one in the background (and the next message waits for it if it is not there yet), so the
    // count is the same as without refresh.
    t.encrypt(new byte[10], KC, AAD);
    assertEquals(5, kms.generateDataKeyCalls.get());
  }

  @Test
  void eachKeyContext_hasItsOwnDataKey() {
    TenantCrypto t = tenantOnANewKey(CacheSettings.defaults());
    t.encrypt(new byte[1], KeyContext.of("class", "mail"), AAD);
    t.encrypt(new byte[1], KeyContext.of("class", "chat"), AAD);
    t.encrypt(new byte[1], KeyContext.of("class", "mail"), MessageAad.of("row", "other"));
    assertEquals(2, kms.generateDataKeyCalls.get(), "message AAD does not split the cache");
  }

  @Test
  void whenDecryptKeyIsOlderThanMaxAge_kmsIsAskedAgain() {
    String arn = kms.createKey("a");
    Map<String, TenantKeys> tenants = Map.of("t", TenantKeys.of(arn));
    byte[] ct = crypto(CacheSettings.defaults(), tenants).tenant("t").encrypt(new byte[9], KC, AAD);
    TenantCrypto reader =
        crypto(CacheSettings.builder().decryptMaxAge(Duration.ofMinutes(2)).build(), tenants)
            .tenant("t");
    reader.decrypt(ct, KC, AAD);
    ticker.advance(Duration.ofMinutes(1));
    reader.decrypt(ct, KC, AAD);
    assertEquals(1, kms.decryptCalls.get());
    ticker.advance(Duration.ofMinutes(1).plusSeconds(1));
    reader.decrypt(ct, KC, AAD);
    assertEquals(2, kms.decryptCalls.get());
  }

  @Test
  void singleFlight_sixteenThreadsMissingOnOneKey_causeOneKmsCall() throws Exception {
    String arn = kms.createKey("a");
    Map<String, TenantKeys> tenants = Map.of("t", TenantKeys.of(arn));
    kms.latency(Duration.ofMillis(200));
    TenantCrypto writer = crypto(CacheSettings.defaults(), tenants).tenant("t");
    byte[] ct = runConcurrently(16, () -> writer.encrypt(new byte[64], KC, AAD)).get(0);
    assertEquals(1, kms.generateDataKeyCalls.get());
    TenantCrypto reader = crypto(CacheSettings.defaults(), tenants).tenant("t");
    List<byte[]> pts = runConcurrently(16, () -> reader.decrypt(ct, KC, AAD));
    assertEquals(1, kms.decryptCalls.get());
    pts.forEach(p -> assertArrayEquals(new byte[64], p));
  }

  private static <T> List<T> runConcurrently(int n, java.util.concurrent.Callable<T> task)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        fs.add(
            pool.submit(
                () -> {
                  go.await();
                  return task.call();
                }));
      }
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : fs) {
        out.add(f.get(30, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void tenantsAreIsolated_underRandomizedConcurrentLoad() throws Exception {
    String[] names = {"acme", "globex", "initech"};
    Map<String, TenantKeys> tenants = new java.util.HashMap<>();
    for (String n : names) {
      tenants.put(n, TenantKeys.of(kms.createKey(n)));
    }
    PanopsCrypto c =
        crypto(CacheSettings.builder().encryptMaxMessages(50).build(), Map.copyOf(tenants));
    long callsBefore = kms.totalCalls();
    List<Integer> checks =
        runConcurrently(
            8,
            () -> {
              Random r = new Random(Thread.currentThread().getId());
              int done = 0;
              for (int i = 0; i < 400; i++) {
                String owner = names[r.nextInt(names.length)];
                String other = names[r.nextInt(names.length)];
                KeyContext kc = KeyContext.of("class", r.nextBoolean() ? "mail" : "chat");
                byte[] pt = (owner + ":" + i + ":" + r.nextLong()).getBytes();
                MessageAad aad = MessageAad.of("row", Integer.toString(i));
                byte[] ct = c.tenant(owner).encrypt(pt, kc, aad);
                assertArrayEquals(pt, c.tenant(owner).decrypt(ct, kc, aad));
                if (!other.equals(owner)) {
                  assertThrows(
                      IntegrityException.class, () -> c.tenant(other).decrypt(ct, kc, aad));
                }
                done++;
              }
              return done;
            });
    assertEquals(8 * 400, checks.stream().mapToInt(Integer::intValue).sum());
    assertTrue(kms.totalCalls() - callsBefore < 8 * 400 / 10, "served mostly from cache");
  }

  @Test
  void settings_refuseValuesBeyondTheHardCeilings() {
    assertThrows(
        IllegalArgumentException.class,
        () -> CacheSettings.builder().encryptMaxMessages(CacheSettings.MAX_MESSAGES_CEILING + 1));
    assertThrows(
        IllegalArgumentException.class,
        () -> CacheSettings.builder().encryptMaxBytes(CacheSettings.MAX_BYTES_CEILING + 1));
    assertThrows(
        IllegalArgumentException.class, () -> CacheSettings.builder().encryptMaxAge(Duration.ZERO));
    assertThrows(
        IllegalArgumentException.class,
        () -> CacheSettings.builder().decryptMaxAge(Duration.ofDays(2)));
  }
}
