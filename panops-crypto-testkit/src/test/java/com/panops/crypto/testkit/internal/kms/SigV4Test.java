package com.panops.crypto.testkit.internal.kms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

class SigV4Test {

  private static final String AKID = "AKIDEXAMPLE";
  private static final String SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

  @Test
  void matchesTheAwsSigV4TestSuiteGetVanillaVector() throws Exception {
    String header =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"
            + " SignedHeaders=host;x-amz-date,"
            + " Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    SigV4.Authorization auth = SigV4.parse(header);
    Map<String, String> headers =
        Map.of("host", "example.amazonaws.com", "x-amz-date", "20150830T123600Z");
    String sig =
        SigV4.signature(
            SECRET,
            auth,
            "GET",
            "/",
            null,
            n -> List.of(headers.get(n)),
            new byte[0],
            "20150830T123600Z");
    assertTrue(SigV4.signaturesEqual(sig, auth.signature()), sig);
  }

  @Test
  void verifiesWhatTheAwsSdkSignerSignsAndRejectsAnyChange() throws Exception {
    byte[] body = "{\"KeyId\":\"k\"}".getBytes(StandardCharsets.UTF_8);
    SdkHttpFullRequest request =
        SdkHttpFullRequest.builder()
            .method(SdkHttpMethod.POST)
            .uri(URI.create("http://127.0.0.1:4599/"))
            .putHeader("Content-Type", "application/x-amz-json-1.1")
            .putHeader("X-Amz-Target", "TrentService.DescribeKey")
            .build();
    SignedRequest signed =
        AwsV4HttpSigner.create()
            .sign(
                r ->
                    r.identity(AwsCredentialsIdentity.create(AKID, SECRET))
                        .request(request)
                        .payload(ContentStreamProvider.fromByteArray(body))
                        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "kms")
                        .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1"));
    SdkHttpRequest sr = signed.request();
    SigV4.Authorization auth = SigV4.parse(sr.firstMatchingHeader("Authorization").orElseThrow());
    assertEquals(AKID, auth.accessKeyId());
    assertEquals("kms", auth.service());
    String amzDate = sr.firstMatchingHeader("X-Amz-Date").orElseThrow();
    java.util.function.Function<String, List<String>> headers =
        n ->
            n.equals("host") && sr.matchingHeaders("Host").isEmpty()
                ? List.of("127.0.0.1:4599")
                : sr.matchingHeaders(n);
    String sig = SigV4.signature(SECRET, auth, "POST", "/", null, headers, body, amzDate);
    assertTrue(SigV4.signaturesEqual(sig, auth.signature()));

    String wrongSecret =
        SigV4.signature(SECRET + "x", auth, "POST", "/", null, headers, body, amzDate);
    assertFalse(SigV4.signaturesEqual(wrongSecret, auth.signature()));
    byte[] otherBody = "{\"KeyId\":\"K\"}".getBytes(StandardCharsets.UTF_8);
    assertFalse(
        SigV4.signaturesEqual(
            SigV4.signature(SECRET, auth, "POST", "/", null, headers, otherBody, amzDate),
            auth.signature()));
  }

  @Test
  void incompleteHeadersAreRefused() {
    for (String bad :
        new String[] {
          null,
          "Basic abc",
          "AWS4-HMAC-SHA256 Credential=A/20200101/us-east-1/kms/aws4_request",
          "AWS4-HMAC-SHA256 Credential=A/20200101/us-east-1/aws4_request, SignedHeaders=host,"
              + " Signature=00",
          "AWS4-HMAC-SHA256 garbage"
        }) {
      assertThrows(SigV4.MalformedAuthorizationException.class, () -> SigV4.parse(bad));
    }
  }
}
