package com.panops.crypto.kms;

import java.time.Duration;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.core.SdkPlugin;
import software.amazon.awssdk.core.SdkServiceClientConfiguration;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpRequest;

/**
 * HTTPS enforced on the request that is actually sent. Attached to every KMS request as a
 * request-level SDK plugin that adds this interceptor; {@link #beforeTransmission} runs for every
 * attempt (retries included) with the final URI, whatever picked it (an endpoint override, an
 * endpoint provider, a region). A non-HTTPS URI is refused before anything is sent, unless local
 * HTTP is allowed and the host is a literal loopback address. The gateway also notices a client
 * that answered without ever transmitting through this check (a wrapper or a fake) and refuses its
 * answer unless local HTTP is allowed. One instance per call. Internal.
 */
final class TransportCheck implements SdkPlugin, ExecutionInterceptor {
  private final boolean allowLocalHttp;
  final CallAttempts attempts;
  volatile boolean transmitted;
  volatile String refused;

  TransportCheck(boolean allowLocalHttp, java.time.Clock clock) {
    this.allowLocalHttp = allowLocalHttp;
    this.attempts = new CallAttempts(clock);
  }

  /**
   * Adds this check to the request, and to its user agent (which CloudTrail records) {@code
   * panops-call/<callId>} and {@code panops-purpose/<purpose>} (data-key, probe, canary, re-wrap,
   * describe), so that a customer's trail tells probes from data-key calls.
   */
  void apply(AwsRequestOverrideConfiguration.Builder o, Duration timeout, String purpose) {
    o.addPlugin(this);
    o.addApiName(
        software.amazon.awssdk.core.ApiName.builder()
            .name("panops-call")
            .version(attempts.callId)
            .build());
    if (purpose != null) {
      o.addApiName(
          software.amazon.awssdk.core.ApiName.builder()
              .name("panops-purpose")
              .version(purpose)
              .build());
    }
    if (timeout != null) {
      o.apiCallTimeout(timeout);
    }
  }

  @Override
  public void configureClient(SdkServiceClientConfiguration.Builder config) {
    ClientOverrideConfiguration current = config.overrideConfiguration();
    ClientOverrideConfiguration.Builder b =
        current == null ? ClientOverrideConfiguration.builder() : current.toBuilder();
    // this first: an attempt it refuses is never sent, so never counted as an attempt
    config.overrideConfiguration(
        b.addExecutionInterceptor(this).addExecutionInterceptor(attempts).build());
  }

  @Override
  public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attrs) {
    SdkHttpRequest r = context.httpRequest();
    if (!acceptable(r.protocol(), r.host(), allowLocalHttp)) {
      refused = r.protocol() + "://" + r.host() + ":" + r.port();
      throw refusal();
    }
    if (!"https".equalsIgnoreCase(r.protocol())) {
      // Plain HTTP to a literal loopback address, allowed: but not if the JVM's or the
      // environment's proxy settings could carry it to a proxy reached by name or elsewhere.
      String proxy = LocalHttpProxies.inTheWay(r.getUri());
      if (proxy != null) {
        refused = "proxy " + proxy;
        throw refusal();
      }
    }
    transmitted = true;
  }

  static boolean acceptable(String scheme, String host, boolean allowLocalHttp) {
    if ("https".equalsIgnoreCase(scheme)) {
      return true;
    }
    return allowLocalHttp && "http".equalsIgnoreCase(scheme) && Endpoints.isLoopback(host);
  }

  IllegalStateException refusal() {
    if (refused.startsWith("proxy ")) {
      return new IllegalStateException(
          "refused to send a plain-HTTP KMS request: "
              + refused.substring("proxy ".length())
              + LocalHttpProxies.ADVICE);
    }
    return new IllegalStateException(
        "refused to send a KMS request to "
            + refused
            + ": not HTTPS"
            + (allowLocalHttp ? " and not a literal loopback address" : "")
            + "; only a local test endpoint may be plain HTTP, with"
            + " allowInsecureLocalKmsEndpoint()");
  }
}
