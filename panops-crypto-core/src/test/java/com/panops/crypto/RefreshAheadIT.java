package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.LocalKms;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;

/**
 * Refresh ahead through the real SDK KmsClient and LocalKms with 5 ms of latency on every
 * GenerateDataKey: a warm key that reaches its age, or its message limit, is replaced without any
 * request waiting for GenerateDataKey, and with as many GenerateDataKey calls as without refresh.
 * "Without waiting" is asserted by holding every GenerateDataKey request at a closed gate (an SDK
 * interceptor, before the request is sent) while the request under test runs: a request that needed
 * one could not return. The clock of the cache is a fake one, so ages are exact.
 */
class RefreshAheadIT {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");
  static final Duration AGE = Duration.ofMinutes(5);
  static final Duration LEAD = Duration.ofSeconds(5); // min(5 min / 16, 5 s)

  /** Holds GenerateDataKey requests at a gate and counts them. */
  static final class Gate implements ExecutionInterceptor {
    final Semaphore open = new Semaphore(1_000_000);
    final AtomicInteger entered = new AtomicInteger();

    void close() {
      open.drainPermits();
    }

    void open() {
      open.drainPermits();
      open.release(1_000_000);
    }

    @Override
    public void beforeExecution(Context.BeforeExecution c, ExecutionAttributes a) {
      if (c.request() instanceof GenerateDataKeyRequest) {
        entered.incrementAndGet();
        open.acquireUninterruptibly();
        open.release();
      }
    }
  }

  final Gate gate = new Gate();
  final FakeTicker ticker = new FakeTicker();
  final ExecutorService requests = Executors.newCachedThreadPool();
  LocalKms kms;
  KmsClient client;
  String arn;

  @BeforeEach
  void setUp() {
    kms = LocalKms.start();
    client = LocalKmsSupport.client(kms, kms.vendor(), gate);
    arn = kms.createKey("tenant acme");
    kms.faults().latency("GenerateDataKey", arn, Duration.ofMillis(5));
  }

  @AfterEach
  void tearDown() {
    gate.open();
    requests.shutdownNow();
    client.close();
    kms.close();
  }

  PanopsCrypto crypto(CacheSettings cache) {
    return TestCrypto.unprobed(client, "acme", arn).cacheSettings(cache).ticker(ticker).build();
  }

  <T> T returns(Callable<T> r) throws Exception {
    Future<T> f = requests.submit(r);
    try {
      return f.get(30, TimeUnit.SECONDS); // a hang guard, not a speed check
    } catch (TimeoutException e) {
      fail("the request waited for a GenerateDataKey held at the gate");
      return null;
    }
  }

  static String edk(byte[] ct) {
    return HexFormat.of().formatHex(MessageHeader.parse(ct, 0, ct.length).encryptedDataKey());
  }

  @Test
  void aWarmKeyAtItsAge_isReplacedWithoutARequestWaiting() throws Exception {
    try (PanopsCrypto c = crypto(CacheSettings.builder().encryptMaxAge(AGE).build())) {
      TenantCrypto t = c.tenant("acme");
      byte[] first = t.encrypt(new byte[100], KC, AAD);
      assertEquals(1, gate.entered.get());
      gate.close();
      ticker.advance(AGE.minus(LEAD).plusSeconds(1));
      byte[] inLead = returns(() -> t.encrypt(new byte[100], KC, AAD));
      assertEquals(edk(first), edk(inLead));
      gate.open();
      assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(20)));
      assertEquals(2, gate.entered.get(), "one GenerateDataKey for the successor");

      gate.close();
      ticker.advance(LEAD);
      byte[] after = returns(() -> t.encrypt(new byte[100], KC, AAD));
      assertNotEquals(edk(first), edk(after));
      assertEquals(2, gate.entered.get(), "as many GenerateDataKeys as without refresh");
      gate.open();
      assertArrayEquals(new byte[100], t.decrypt(first, KC, AAD));
      assertArrayEquals(new byte[100], t.decrypt(after, KC, AAD));
    }
  }

  @Test
  void keysRolledByTheirMessageLimit_neverMakeARequestWait() throws Exception {
    int limit = 8;
    int messages = 40;
    try (PanopsCrypto c = crypto(CacheSettings.builder().encryptMaxMessages(limit).build())) {
      TenantCrypto t = c.tenant("acme");
      java.util.Map<String, Integer> perKey = new java.util.HashMap<>();
      perKey.merge(edk(t.encrypt(new byte[10], KC, AAD)), 1, Integer::sum);
      for (int i = 1; i < messages; i++) {
        assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(20)));
        gate.close();
        perKey.merge(edk(returns(() -> t.encrypt(new byte[10], KC, AAD))), 1, Integer::sum);
        gate.open();
      }
      assertTrue(c.cache.awaitRefreshes(Duration.ofSeconds(20)));
      // 40 messages, 8 per key: 5 keys, each used exactly 8 times; the sixth GenerateDataKey is
      // the successor loaded ahead for the 41st message.
      assertEquals(5, perKey.size(), perKey.toString());
      perKey.values().forEach(n -> assertEquals(limit, n));
      assertEquals(messages / limit + 1, gate.entered.get());
    }
  }
}
