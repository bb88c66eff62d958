package com.panops.crypto.testkit.internal.kms;

import com.panops.crypto.testkit.LocalKmsException;
import com.panops.crypto.testkit.Principal;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import java.util.function.Function;

/**
 * Identifies the caller of a wire request by its SigV4 signature, verified against the secret of
 * the principal its access key id names. Refusals are KMS's: {@code
 * MissingAuthenticationTokenException}, {@code IncompleteSignatureException}, {@code
 * UnrecognizedClientException}, {@code InvalidSignatureException}. Request time skew is not
 * checked, so tests may move the injected clock freely.
 */
final class WireAuthentication {

  /** An authentication refusal, with the caller's ARN once the access key id was recognised. */
  static final class AuthFailure extends Exception {
    private static final long serialVersionUID = 1L;
    final transient LocalKmsException error;
    final String callerArn;

    AuthFailure(String callerArn, String code, String message) {
      super(code, null, false, false);
      this.error = LocalKmsException.of(code, message);
      this.callerArn = callerArn;
    }
  }

  private final Function<String, Principal> principals;
  private final String region;

  /**
   * @param principals looks a principal up by access key id; returns null if unknown
   */
  WireAuthentication(Function<String, Principal> principals, String region) {
    this.principals = principals;
    this.region = region;
  }

  /** The principal that signed this request. */
  Principal authenticate(HttpExchange exchange, byte[] body) throws AuthFailure {
    Headers headers = exchange.getRequestHeaders();
    String header = headers.getFirst("Authorization");
    if (header == null) {
      throw new AuthFailure(
          null, "MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    SigV4.Authorization auth;
    try {
      auth = SigV4.parse(header);
    } catch (SigV4.MalformedAuthorizationException e) {
      throw new AuthFailure(null, "IncompleteSignatureException", e.getMessage());
    }
    Principal p = principals.apply(auth.accessKeyId());
    if (p == null) {
      throw new AuthFailure(
          null,
          "UnrecognizedClientException",
          "The security token included in the request is invalid.");
    }
    String amzDate = headers.getFirst("X-Amz-Date");
    requireScope(p, auth, amzDate);
    requireSignature(p, auth, exchange, body, amzDate);
    return p;
  }

  /** The signed headers, the date and the credential scope. */
  private void requireScope(Principal p, SigV4.Authorization auth, String amzDate)
      throws AuthFailure {
    if (amzDate == null || !auth.signedHeaders().contains("x-amz-date")) {
      throw new AuthFailure(
          p.arn(),
          "IncompleteSignatureException",
          "Authorization header requires a signed 'X-Amz-Date' header.");
    }
    if (!auth.signedHeaders().contains("host")) {
      throw new AuthFailure(
          p.arn(),
          "InvalidSignatureException",
          "'Host' must be a 'SignedHeader' in the AWS Authorization.");
    }
    if (!amzDate.startsWith(auth.date())) {
      throw new AuthFailure(
          p.arn(),
          "InvalidSignatureException",
          "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from"
              + " HTTP.");
    }
    if (!auth.region().equals(region) || !auth.service().equals("kms")) {
      throw new AuthFailure(
          p.arn(),
          "InvalidSignatureException",
          "Credential should be scoped to a valid region and to the kms service.");
    }
  }

  private static void requireSignature(
      Principal p, SigV4.Authorization auth, HttpExchange exchange, byte[] body, String amzDate)
      throws AuthFailure {
    String expected =
        SigV4.signature(
            p.secretAccessKey(),
            auth,
            exchange.getRequestMethod(),
            exchange.getRequestURI().getRawPath(),
            exchange.getRequestURI().getRawQuery(),
            exchange.getRequestHeaders()::get,
            body,
            amzDate);
    if (!SigV4.signaturesEqual(expected, auth.signature())) {
      throw new AuthFailure(
          p.arn(),
          "InvalidSignatureException",
          "The request signature we calculated does not match the signature you provided. Check"
              + " your AWS Secret Access Key and signing method. Consult the service documentation"
              + " for details.");
    }
  }
}
