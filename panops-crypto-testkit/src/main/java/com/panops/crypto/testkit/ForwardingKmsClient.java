package com.panops.crypto.testkit;

import java.util.Objects;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DecryptRequest;
import software.amazon.awssdk.services.kms.model.DecryptResponse;
import software.amazon.awssdk.services.kms.model.DescribeKeyRequest;
import software.amazon.awssdk.services.kms.model.DescribeKeyResponse;
import software.amazon.awssdk.services.kms.model.EncryptRequest;
import software.amazon.awssdk.services.kms.model.EncryptResponse;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyRequest;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.ReEncryptRequest;
import software.amazon.awssdk.services.kms.model.ReEncryptResponse;

/**
 * A {@link KmsClient} that forwards the five operations the library uses to another client; tests
 * override one of them to hold back, delay, record or falsify an answer. It does not close its
 * delegate. For tests of the library's own logic only: it sends nothing over HTTP, so a {@code
 * PanopsCrypto} using it needs {@code allowInsecureLocalKmsEndpoint()}.
 */
public class ForwardingKmsClient implements KmsClient {
  protected final KmsClient delegate;

  public ForwardingKmsClient(KmsClient delegate) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
  }

  @Override
  public GenerateDataKeyResponse generateDataKey(GenerateDataKeyRequest r) {
    return delegate.generateDataKey(r);
  }

  @Override
  public DecryptResponse decrypt(DecryptRequest r) {
    return delegate.decrypt(r);
  }

  @Override
  public EncryptResponse encrypt(EncryptRequest r) {
    return delegate.encrypt(r);
  }

  @Override
  public ReEncryptResponse reEncrypt(ReEncryptRequest r) {
    return delegate.reEncrypt(r);
  }

  @Override
  public DescribeKeyResponse describeKey(DescribeKeyRequest r) {
    return delegate.describeKey(r);
  }

  /** Whether {@code r} is one of the library's liveness probes (its canary's context says so). */
  public static boolean isProbe(DecryptRequest r) {
    return "liveness-probe".equals(r.encryptionContext().get("panops:purpose"));
  }

  @Override
  public String serviceName() {
    return "kms";
  }

  @Override
  public void close() {}
}
