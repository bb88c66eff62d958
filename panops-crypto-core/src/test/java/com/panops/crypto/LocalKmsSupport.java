package com.panops.crypto;

import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.Principal;
import java.time.Duration;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/** Real SDK KmsClients against LocalKms on 127.0.0.1: static credentials, a region, no metadata. */
public final class LocalKmsSupport {
  private LocalKmsSupport() {}

  public static KmsClient client(
      LocalKms kms, Principal who, ExecutionInterceptor... interceptors) {
    return KmsClient.builder()
        .endpointOverride(kms.endpoint())
        .region(Region.of(kms.region()))
        .credentialsProvider(who.credentialsProvider())
        .overrideConfiguration(
            o -> {
              o.apiCallAttemptTimeout(Duration.ofSeconds(2)).apiCallTimeout(Duration.ofSeconds(10));
              for (ExecutionInterceptor i : interceptors) {
                o.addExecutionInterceptor(i);
              }
            })
        .build();
  }
}
