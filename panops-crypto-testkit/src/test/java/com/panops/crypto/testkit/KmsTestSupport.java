package com.panops.crypto.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.panops.crypto.testkit.internal.kms.SigV4;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/** Real SDK clients and raw signed HTTP requests against a LocalKms, all on 127.0.0.1. */
final class KmsTestSupport {

  private KmsTestSupport() {}

  /** Reads the JSON of responses, policies and trail records. */
  static final ObjectMapper JSON = new ObjectMapper();

  static final HttpClient HTTP =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  /** A real SDK client for the principal: static credentials, the region, no retries. */
  static KmsClient client(LocalKms kms, Principal principal) {
    return client(kms, principal, Duration.ofSeconds(20));
  }

  static KmsClient client(LocalKms kms, Principal principal, Duration apiCallTimeout) {
    return KmsClient.builder()
        .endpointOverride(kms.endpoint())
        .region(Region.of(kms.region()))
        .credentialsProvider(principal.credentialsProvider())
        .overrideConfiguration(
            o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()).apiCallTimeout(apiCallTimeout))
        .build();
  }

  static String errorCode(AwsServiceException e) {
    return e.awsErrorDetails().errorCode();
  }

  /**
   * A key policy whose one statement lets the principal do everything: any other principal, the
   * vendor included, is refused.
   */
  static String policyAllowingOnly(String principalArn) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"CustomerKeyAdministration\","
        + "\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\""
        + principalArn
        + "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";
  }

  static SdkBytes bytes(String s) {
    return SdkBytes.fromUtf8String(s);
  }

  /** A clock tests move by hand. */
  static final class MutableClock extends Clock {
    private final AtomicReference<Instant> now;

    MutableClock(Instant start) {
      now = new AtomicReference<>(start);
    }

    void advance(Duration d) {
      now.updateAndGet(t -> t.plus(d));
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  }

  /** Options of a raw request. */
  static final class Raw {
    String target = "TrentService.ListKeys";
    byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
    Principal signer;
    String secretOverride;
    boolean tamperAfterSigning;

    Raw target(String t) {
      this.target = t;
      return this;
    }

    Raw body(String b) {
      this.body = b.getBytes(StandardCharsets.UTF_8);
      return this;
    }

    Raw body(byte[] b) {
      this.body = b;
      return this;
    }

    Raw signedBy(Principal p) {
      this.signer = p;
      return this;
    }

    Raw tamperAfterSigning() {
      this.tamperAfterSigning = true;
      return this;
    }
  }

  /** Sends a POST / to LocalKms with java.net.http, signed with SigV4 if a signer is set. */
  static HttpResponse<String> send(LocalKms kms, Raw raw) throws IOException, InterruptedException {
    URI uri = kms.endpoint().resolve("/");
    String amzDate =
        DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC)
            .format(Instant.now());
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("content-type", "application/x-amz-json-1.1");
    headers.put("x-amz-date", amzDate);
    if (raw.target != null) {
      headers.put("x-amz-target", raw.target);
    }
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri)
            .timeout(Duration.ofSeconds(20))
            .POST(HttpRequest.BodyPublishers.ofByteArray(sent(raw)));
    headers.forEach(b::header);
    if (raw.signer != null) {
      Map<String, String> signed = new LinkedHashMap<>(headers);
      signed.put("host", uri.getHost() + ":" + uri.getPort());
      String auth =
          SigV4.authorizationHeader(
              raw.signer.accessKeyId(),
              raw.secretOverride != null ? raw.secretOverride : raw.signer.secretAccessKey(),
              kms.region(),
              "kms",
              amzDate,
              new ArrayList<>(signed.keySet()),
              "POST",
              "/",
              null,
              name -> signed.containsKey(name) ? List.of(signed.get(name)) : null,
              raw.body);
      b.header("Authorization", auth);
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static byte[] sent(Raw raw) {
    if (!raw.tamperAfterSigning) {
      return raw.body;
    }
    byte[] copy = raw.body.clone();
    copy[copy.length - 2] ^= 0x01;
    return copy;
  }
}
