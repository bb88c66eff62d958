package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.LocalKmsSupport;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.testkit.LocalKms;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * KMS's answer counts whatever the calling thread's interrupt flag says. The flag is set exactly as
 * KMS's error reaches the SDK (an interceptor's {@code modifyException}, the moment a {@code
 * Future.cancel(true)} could land): the gateway still sees {@code DisabledException}, so the data
 * key call and a probe latch, and the interrupt is still set for the caller when the call returns.
 * A call that KMS never answered (the thread interrupted before sending) still latches nothing.
 */
class InterruptedAnswerIT {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  LocalKms kms;
  String arn;
  KmsClient client;
  PanopsCrypto crypto;
  TenantCrypto tenant;

  /** Sets the calling thread's interrupt flag as KMS's error arrives, while armed. */
  final AtomicBoolean armed = new AtomicBoolean();

  @BeforeEach
  void setUp() {
    kms = LocalKms.start();
    arn = kms.createKey("interrupts");
    ExecutionInterceptor interruptAsTheAnswerArrives =
        new ExecutionInterceptor() {
          @Override
          public Throwable modifyException(
              Context.FailedExecution context, ExecutionAttributes attrs) {
            if (armed.get() && context.exception() instanceof KmsException) {
              Thread.currentThread().interrupt();
            }
            return context.exception();
          }
        };
    client = LocalKmsSupport.client(kms, kms.vendor(), interruptAsTheAnswerArrives);
    crypto =
        TestCrypto.builder(client, "acme", arn)
            .probeSettings(ProbeSettings.every(Duration.ofMinutes(5)))
            .build();
    tenant = crypto.tenant("acme");
  }

  @AfterEach
  void tearDown() {
    Thread.interrupted();
    crypto.close();
    client.close();
    kms.close();
  }

  @Test
  void aDisabledAnswerToADataKeyDecrypt_latches_evenIfTheThreadIsInterruptedAsItArrives() {
    byte[] ct = tenant.encrypt("mail".getBytes(), KC, AAD);
    crypto.close(); // a cold cache: the next decrypt asks KMS
    crypto =
        TestCrypto.builder(client, "acme", arn)
            .probeSettings(ProbeSettings.every(Duration.ofMinutes(5)))
            .build();
    tenant = crypto.tenant("acme");
    kms.disableKey(arn);
    armed.set(true);
    KeyRevokedException e =
        assertThrows(KeyRevokedException.class, () -> tenant.decrypt(ct, KC, AAD));
    assertTrue(Thread.interrupted(), "the interrupt is still set for the caller");
    armed.set(false);
    assertEquals(RevocationReason.DISABLED, e.reason());
    assertTrue(crypto.isRevoked(arn), "KMS's answer latched the key");
  }

  @Test
  void aDisabledAnswerToAGenerateDataKey_latches_evenIfTheThreadIsInterruptedAsItArrives() {
    kms.disableKey(arn);
    armed.set(true);
    KeyRevokedException e =
        assertThrows(KeyRevokedException.class, () -> tenant.encrypt(new byte[1], KC, AAD));
    assertTrue(Thread.interrupted(), "the interrupt is still set for the caller");
    armed.set(false);
    assertEquals(RevocationReason.DISABLED, e.reason());
    assertTrue(crypto.isRevoked(arn));
  }

  @Test
  void aDisabledAnswerToAProbe_latches_evenIfTheProbingThreadIsInterruptedAsItArrives() {
    tenant.encrypt(new byte[1], KC, AAD); // the key is in use, with a canary
    assertTrue(crypto.probe(arn));
    kms.disableKey(arn);
    armed.set(true);
    assertFalse(crypto.probe(arn), "the probe runs on this thread and fails");
    assertTrue(Thread.interrupted(), "the interrupt is still set for the caller");
    armed.set(false);
    assertTrue(crypto.isRevoked(arn), "the probe's answer latched the key");
  }

  @Test
  void aCallAbandonedBeforeKmsAnswered_latchesNothing() {
    kms.disableKey(arn);
    Thread.currentThread().interrupt(); // before sending: the SDK aborts, KMS never answers
    int before = kms.trail().size();
    assertThrows(KmsUnavailableException.class, () -> tenant.encrypt(new byte[1], KC, AAD));
    assertTrue(Thread.interrupted(), "the interrupt is still set for the caller");
    assertEquals(before, kms.trail().size(), "nothing reached KMS");
    assertFalse(crypto.isRevoked(arn), "no answer, no latch");
  }
}
