package com.panops.crypto.s3;

import com.panops.crypto.kms.Endpoints;
import java.net.URI;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What {@link EncryptingS3Client} requires of the client it decorates: that there is one, that it
 * is not itself encrypting (which would encrypt twice), and that it talks HTTPS, or plain HTTP only
 * to a literal loopback address without a proxy when the builder allows a local endpoint.
 */
final class WrappedClientRules {
  private WrappedClientRules() {}

  /**
   * @throws IllegalStateException if {@code client} is null or already an encrypting client
   */
  static void requireWrappable(S3Client client) {
    if (client == null) {
      throw new IllegalStateException("s3Client must be set");
    }
    if (client instanceof EncryptingS3Client) {
      throw new IllegalStateException("the S3 client is already an EncryptingS3Client");
    }
  }

  /**
   * Accepts no endpoint override (the SDK's HTTPS endpoints), an HTTPS override, and, with {@code
   * allowLocalHttp}, a plain-HTTP override on a literal loopback address that no proxy setting
   * applies to.
   *
   * @throws IllegalArgumentException for any other endpoint
   */
  static void checkEndpoint(S3Client client, boolean allowLocalHttp) {
    URI endpoint;
    try {
      endpoint = client.serviceClientConfiguration().endpointOverride().orElse(null);
    } catch (UnsupportedOperationException e) {
      return; // a client of the caller's own making (a fake): its business
    }
    if (endpoint == null || "https".equalsIgnoreCase(endpoint.getScheme())) {
      return;
    }
    if (!"http".equalsIgnoreCase(endpoint.getScheme())) {
      throw new IllegalArgumentException("S3 endpoint " + endpoint + " is not HTTPS");
    }
    if (!allowLocalHttp) {
      throw new IllegalArgumentException(
          "S3 endpoint "
              + endpoint
              + " is not HTTPS; only a local test endpoint may be plain HTTP, and the builder must"
              + " be told so with allowInsecureLocalS3Endpoint()");
    }
    checkLocalHttp(endpoint);
  }

  /** A plain-HTTP endpoint must be a literal loopback address, reached without a proxy. */
  private static void checkLocalHttp(URI endpoint) {
    if (!Endpoints.isLoopback(endpoint.getHost())) {
      throw new IllegalArgumentException(
          "S3 endpoint " + endpoint + " is plain HTTP and not a loopback address");
    }
    String proxy = Endpoints.localHttpProxy(endpoint);
    if (proxy != null) {
      throw new IllegalArgumentException(
          "S3 endpoint "
              + endpoint
              + " is plain HTTP, and "
              + proxy
              + "; with allowInsecureLocalS3Endpoint() plain HTTP goes only to a literal loopback"
              + " address, never through a proxy: clear the proxy setting for this JVM, or point"
              + " it at a literal loopback address such as 127.0.0.1");
    }
  }
}
