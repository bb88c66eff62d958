package com.panops.crypto;

import com.panops.crypto.testkit.FakeKmsClient;
import com.panops.crypto.testkit.ForwardingKmsClient;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.EncryptRequest;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.ReEncryptRequest;
import software.amazon.awssdk.services.kms.model.ReEncryptResponse;

/**
 * A fake KMS whose answers arrive late: the fake decides (enabled or disabled, the key's material)
 * first, then the answer waits a random 0..{@code maxDelayMicros} before the caller sees it. So a
 * success decided before the customer disabled the key can arrive after the library latched it: the
 * interleaving that let a late probe lift a newer latch, and a cache load re-insert a purged key.
 * For tests of our own logic only.
 */
final class LateAnswerKms extends ForwardingKmsClient {
  private final int maxDelayMicros;

  LateAnswerKms(FakeKmsClient fake, int maxDelayMicros) {
    super(fake);
    this.maxDelayMicros = maxDelayMicros;
  }

  private <T> T late(T answer) {
    LockSupport.parkNanos(ThreadLocalRandom.current().nextInt(maxDelayMicros + 1) * 1000L);
    return answer;
  }

  @Override
  public GenerateDataKeyResponse generateDataKey(GenerateDataKeyRequest r) {
    return late(delegate.generateDataKey(r));
  }

  @Override
  public DecryptResponse decrypt(DecryptRequest r) {
    return late(delegate.decrypt(r));
  }

  @Override
  public EncryptResponse encrypt(EncryptRequest r) {
    return late(delegate.encrypt(r));
  }

  @Override
  public ReEncryptResponse reEncrypt(ReEncryptRequest r) {
    return late(delegate.reEncrypt(r));
  }
}
