/**
 * panops-crypto-verify: the customer's check of the kill switch, computed from their own CloudTrail
 * logs. A library ({@code com.panops.crypto.verify}) and a command-line tool ({@code java -jar
 * panops-crypto-verify-VERSION-cli.jar}). It depends on no other panops-crypto module: a customer
 * runs it without the vendor's library.
 */
module com.panops.crypto.verify {
  requires com.fasterxml.jackson.databind;
  requires software.amazon.awssdk.services.s3;
  requires software.amazon.awssdk.core;
  requires software.amazon.awssdk.regions;
  requires software.amazon.awssdk.auth;
  requires software.amazon.awssdk.http;
  requires static software.amazon.awssdk.http.apache5;

  exports com.panops.crypto.verify;
}
