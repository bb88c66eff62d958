/**
 * panops-crypto core: envelope encryption under customer-managed AWS KMS keys, the data-key cache
 * and the kill switch.
 *
 * <p>The public API is {@code com.panops.crypto} and {@code com.panops.crypto.metrics}. Every other
 * package is implementation: unexported, except what the adapters need (the message format, the
 * adapter access, the endpoint rules), exported to those modules only. A new package is internal
 * until it is listed here; docs/ARCHITECTURE.md says what each package is.
 */
module com.panops.crypto {
  requires transitive software.amazon.awssdk.services.kms;
  requires software.amazon.awssdk.core;
  requires software.amazon.awssdk.awscore;
  requires software.amazon.awssdk.http;
  // PanopsCrypto.Builder.ticker(Ticker): the clock of cache ages
  requires transitive com.github.benmanes.caffeine;
  requires org.slf4j;
  // optional: MicrometerMetrics works when the application has Micrometer
  requires static micrometer.core;

  exports com.panops.crypto;
  exports com.panops.crypto.metrics;
  // the calls that name the message format (TenantCrypto keeps them off its public API)
  exports com.panops.crypto.adapter to
      com.panops.crypto.s3,
      com.panops.crypto.jdbc;
  exports com.panops.crypto.format to
      com.panops.crypto.s3,
      com.panops.crypto.jdbc;
  // Endpoints.isLoopback, localHttpProxy: the S3 adapter's check of a plain-HTTP endpoint
  exports com.panops.crypto.kms to
      com.panops.crypto.s3;
}
