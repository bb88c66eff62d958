package com.panops.crypto;

import com.panops.crypto.testkit.FakeKmsClient;
import com.panops.crypto.testkit.ForwardingKmsClient;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;

/**
 * The fixture of the refresh-ahead unit tests (our own logic): one tenant "t" on one CMK of a fake
 * KMS whose answers can be held at gates or refused, a fake clock, a pool to run requests on, and
 * every instance a test opens closed after it.
 */
abstract class RefreshAheadFixture {
  static final MessageAad AAD = MessageAad.of("row", "1");

  /**
   * A fake KMS whose GenerateDataKey and data-key Decrypt answers wait at gates (decided first),
   * and whose data-key Decrypts are refused (InvalidCiphertext) when told. A probe's canary is
   * neither counted, held nor refused.
   */
  static final class GatedKms extends ForwardingKmsClient {
    final Semaphore gdkGate = new Semaphore(1_000_000);
    final Semaphore decryptGate = new Semaphore(1_000_000);
    final Semaphore decryptsHeld = new Semaphore(0);
    final AtomicInteger gdkEntered = new AtomicInteger();
    final AtomicInteger dataKeyDecrypts = new AtomicInteger();
    final List<String> generated = new CopyOnWriteArrayList<>();
    volatile boolean refuseDataKeys;

    GatedKms(FakeKmsClient fake) {
      super(fake);
    }

    void closeGdk() {
      gdkGate.drainPermits();
    }

    void openGdk() {
      gdkGate.drainPermits();
      gdkGate.release(1_000_000);
    }

    @Override
    public GenerateDataKeyResponse generateDataKey(GenerateDataKeyRequest r) {
      gdkEntered.incrementAndGet();
      GenerateDataKeyResponse answer = delegate.generateDataKey(r); // decided before the gate
      synchronized (generated) {
        generated.add(HexFormat.of().formatHex(answer.ciphertextBlob().asByteArray()));
        generated.notifyAll(); // awaitGenerated: the answer is recorded, readable now
      }
      gdkGate.acquireUninterruptibly();
      gdkGate.release();
      return answer;
    }

    @Override
    public DecryptResponse decrypt(DecryptRequest r) {
      if (isProbe(r)) {
        return delegate.decrypt(r);
      }
      if (refuseDataKeys) {
        throw InvalidCiphertextException.builder().message("refused for this ciphertext").build();
      }
      DecryptResponse answer = delegate.decrypt(r);
      dataKeyDecrypts.incrementAndGet();
      decryptsHeld.release();
      decryptGate.acquireUninterruptibly();
      decryptGate.release();
      return answer;
    }
  }

  final FakeKmsClient fake = new FakeKmsClient();
  final GatedKms kms = new GatedKms(fake);
  final FakeTicker ticker = new FakeTicker();
  final String arn = fake.createKey("a");
  final ExecutorService requests = Executors.newCachedThreadPool();
  final List<PanopsCrypto> opened = new ArrayList<>();

  /** An instance over the gated KMS and the fake clock, closed after the test. */
  PanopsCrypto crypto(CacheSettings cache) {
    PanopsCrypto c =
        TestCrypto.builder(kms, "t", arn)
            .cacheSettings(cache)
            // probes only when asked (crypto.probe): a latch lifts on one successful probe
            .probeSettings(ProbeSettings.every(Duration.ofMinutes(5)).withSettle(1, Duration.ZERO))
            .ticker(ticker)
            .build();
    opened.add(c);
    return c;
  }

  @AfterEach
  void close() {
    kms.openGdk();
    kms.decryptGate.release(1_000_000);
    opened.forEach(PanopsCrypto::close);
    requests.shutdownNow();
  }
}
