package com.panops.crypto.kms;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.AuditSink;
import com.panops.crypto.CacheSettings;
import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.testkit.FakeKmsClient;
import com.panops.crypto.testkit.LocalKms;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.endpoints.Endpoint;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * HTTPS is enforced on the request that is actually sent, whatever chose its endpoint: the
 * build-time check of {@code endpointOverride} is only early feedback. Through the real SDK client
 * against LocalKms on 127.0.0.1 (plain HTTP), and an SDK client over a canned in-process HTTP layer
 * for the HTTPS case (nothing leaves the process).
 */
class TransportCheckIT {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");
  static LocalKms kms;
  static String arn;

  @BeforeAll
  static void start() {
    kms = LocalKms.start();
    arn = kms.createKey("transport");
  }

  @AfterAll
  static void stop() {
    kms.close();
  }

  /** A client whose endpoint comes from an endpoint provider: no override for a build check. */
  static KmsClient viaEndpointProvider(String url) {
    return KmsClient.builder()
        .region(Region.of(kms.region()))
        .credentialsProvider(kms.vendor().credentialsProvider())
        .endpointProvider(
            params ->
                CompletableFuture.completedFuture(Endpoint.builder().url(URI.create(url)).build()))
        .build();
  }

  static PanopsCrypto.Builder crypto(KmsClient client, String keyArn) {
    return PanopsCrypto.builder()
        .kmsClient(client)
        .tenantDirectory(TenantDirectory.of(Map.of("t", TenantKeys.of(keyArn))))
        .probeSettings(ProbeSettings.off())
        .auditSink(AuditSink.none());
  }

  @Test
  void plainHttpChosenByAnEndpointProvider_isRefusedBeforeAnythingIsSent() {
    try (KmsClient client = viaEndpointProvider(kms.endpoint().toString());
        PanopsCrypto c = crypto(client, arn).build()) {
      int before = kms.trail().size();
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class, () -> c.tenant("t").encrypt(new byte[1], KC, AAD));
      assertTrue(e.getMessage().contains("not HTTPS"), e.getMessage());
      assertEquals(before, kms.trail().size(), "LocalKms saw no request");
      assertFalse(c.isRevoked(arn), "a configuration error is not a revocation");
    }
  }

  @Test
  void withTheLocalOptIn_plainHttpIsAcceptedOnlyToALiteralLoopbackAddress() {
    try (KmsClient client = viaEndpointProvider(kms.endpoint().toString());
        PanopsCrypto c = crypto(client, arn).allowInsecureLocalKmsEndpoint().build()) {
      byte[] ct = c.tenant("t").encrypt(new byte[1], KC, AAD);
      assertArrayEquals(new byte[1], c.tenant("t").decrypt(ct, KC, AAD));
    }
    String byName = "http://localhost:" + kms.endpoint().getPort();
    try (KmsClient client = viaEndpointProvider(byName);
        PanopsCrypto c = crypto(client, arn).allowInsecureLocalKmsEndpoint().build()) {
      int before = kms.trail().size();
      assertThrows(IllegalStateException.class, () -> c.tenant("t").encrypt(new byte[1], KC, AAD));
      assertEquals(before, kms.trail().size(), "a name is not a literal loopback address");
    }
  }

  /**
   * The JVM's standard proxy properties, which the SDK's default HTTP client reads when it is
   * built: a plain-HTTP request to 127.0.0.1 would go to the proxy, reached by name. Refused before
   * anything is sent, at build time (endpoint override) and per request (endpoint provider); a
   * listener standing in for the proxy is never connected to.
   */
  @Test
  void withTheLocalOptIn_aProxyReachedByName_isRefused_atBuildAndPerRequest_beforeAnythingIsSent()
      throws Exception {
    try (java.net.ServerSocket proxy =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      java.util.concurrent.atomic.AtomicInteger connections =
          new java.util.concurrent.atomic.AtomicInteger();
      Thread acceptor =
          new Thread(
              () -> {
                while (!proxy.isClosed()) {
                  try (java.net.Socket s = proxy.accept()) {
                    connections.incrementAndGet();
                  } catch (java.io.IOException closed) {
                    return;
                  }
                }
              });
      acceptor.setDaemon(true);
      acceptor.start();
      System.setProperty("http.proxyHost", "localhost");
      System.setProperty("http.proxyPort", String.valueOf(proxy.getLocalPort()));
      try {
        try (KmsClient overridden = com.panops.crypto.LocalKmsSupport.client(kms, kms.vendor())) {
          IllegalArgumentException e =
              assertThrows(
                  IllegalArgumentException.class,
                  () -> crypto(overridden, arn).allowInsecureLocalKmsEndpoint().build());
          assertTrue(e.getMessage().contains("http.proxyHost (localhost)"), e.getMessage());
        }
        try (KmsClient client = viaEndpointProvider(kms.endpoint().toString());
            PanopsCrypto c = crypto(client, arn).allowInsecureLocalKmsEndpoint().build()) {
          int before = kms.trail().size();
          IllegalStateException e =
              assertThrows(
                  IllegalStateException.class, () -> c.tenant("t").encrypt(new byte[1], KC, AAD));
          assertTrue(e.getMessage().contains("http.proxyHost (localhost)"), e.getMessage());
          assertTrue(e.getMessage().contains("never through a proxy"), e.getMessage());
          assertEquals(before, kms.trail().size(), "LocalKms saw no request");
          assertFalse(c.isRevoked(arn), "a configuration error is not a revocation");
        }
      } finally {
        System.clearProperty("http.proxyHost");
        System.clearProperty("http.proxyPort");
      }
      assertEquals(0, connections.get(), "nothing was sent to the proxy");
    }
  }

  @Test
  void
      proxySettings_thatNameALiteralLoopbackProxyOrNone_pass_everyOtherIsReported_neverItsPassword() {
    URI target = URI.create("http://127.0.0.1:4566/");
    java.util.function.UnaryOperator<String> none = k -> null;
    assertNull(LocalHttpProxies.inTheWay(target, none, none, null));
    assertNull(
        LocalHttpProxies.inTheWay(
            target, k -> k.equals("http.proxyHost") ? "127.0.0.1" : null, none, null));
    assertNull(
        LocalHttpProxies.inTheWay(
            target, none, k -> k.equals("HTTP_PROXY") ? "http://[::1]:3128" : null, null));
    for (String prop : new String[] {"http.proxyHost", "https.proxyHost", "socksProxyHost"}) {
      String m =
          LocalHttpProxies.inTheWay(target, k -> k.equals(prop) ? "proxy.corp" : null, none, null);
      assertNotNull(m, prop);
      assertTrue(m.contains(prop + " (proxy.corp)"), m);
    }
    for (String var :
        new String[] {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"}) {
      String m =
          LocalHttpProxies.inTheWay(
              target,
              none,
              k -> k.equals(var) ? "http://svc:s3cr3t-pw@proxy.corp:3128" : null,
              null);
      assertNotNull(m, var);
      assertTrue(m.contains(var + " (proxy.corp)"), m);
      assertFalse(m.contains("s3cr3t-pw"), "a proxy password never reaches a message: " + m);
    }
    String viaProperty =
        LocalHttpProxies.inTheWay(
            target,
            k -> k.equals("http.proxyHost") ? "http://svc:s3cr3t-pw@proxy.corp" : null,
            none,
            null);
    assertNotNull(viaProperty);
    assertFalse(viaProperty.contains("s3cr3t-pw"), "nor from a property: " + viaProperty);
    assertNotNull(
        LocalHttpProxies.inTheWay(target, none, k -> k.equals("http_proxy") ? "::bad" : null, null),
        "an unparsable proxy setting counts as a proxy");
    java.net.ProxySelector named =
        new java.net.ProxySelector() {
          @Override
          public List<java.net.Proxy> select(URI uri) {
            return List.of(
                new java.net.Proxy(
                    java.net.Proxy.Type.HTTP,
                    java.net.InetSocketAddress.createUnresolved("gateway.corp", 8080)));
          }

          @Override
          public void connectFailed(URI uri, java.net.SocketAddress sa, java.io.IOException e) {}
        };
    String m = LocalHttpProxies.inTheWay(target, none, none, named);
    assertTrue(m != null && m.contains("ProxySelector (gateway.corp)"), m);
    assertNull(
        LocalHttpProxies.inTheWay(target, none, none, java.net.ProxySelector.of(null)),
        "a selector that goes direct");
  }

  @Test
  void aClientThatBypassesTheSdkPipeline_isRefused_unlessTheLocalOptInIsSet() {
    FakeKmsClient fake = new FakeKmsClient();
    String fakeArn = fake.createKey("f");
    try (PanopsCrypto c = crypto(fake, fakeArn).build()) {
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class, () -> c.tenant("t").encrypt(new byte[1], KC, AAD));
      assertTrue(e.getMessage().contains("HTTPS could not be verified"), e.getMessage());
    }
    try (PanopsCrypto c = crypto(fake, fakeArn).allowInsecureLocalKmsEndpoint().build()) {
      assertNotNull(c.tenant("t").encrypt(new byte[1], KC, AAD));
    }
  }

  /** An HTTP layer that answers GenerateDataKey itself and records the URIs it was asked for. */
  static final class CannedHttp implements SdkHttpClient {
    final List<String> uris = Collections.synchronizedList(new ArrayList<>());
    final String keyArn;

    CannedHttp(String keyArn) {
      this.keyArn = keyArn;
    }

    @Override
    public ExecutableHttpRequest prepareRequest(HttpExecuteRequest r) {
      uris.add(r.httpRequest().getUri().toString());
      return new ExecutableHttpRequest() {
        @Override
        public HttpExecuteResponse call() {
          String body =
              "{\"KeyId\":\""
                  + keyArn
                  + "\",\"Plaintext\":\""
                  + Base64.getEncoder().encodeToString(new byte[32])
                  + "\",\"CiphertextBlob\":\""
                  + Base64.getEncoder().encodeToString(new byte[64])
                  + "\"}";
          return HttpExecuteResponse.builder()
              .response(
                  SdkHttpResponse.builder()
                      .statusCode(200)
                      .putHeader("x-amzn-RequestId", "canned")
                      .putHeader("Content-Type", "application/x-amz-json-1.1")
                      .build())
              .responseBody(
                  AbortableInputStream.create(
                      new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8))))
              .build();
        }

        @Override
        public void abort() {}
      };
    }

    @Override
    public void close() {}
  }

  @Test
  void anHttpsClient_worksWithoutTheOptIn_andEveryRequestWasHttps() {
    String canned = "arn:aws:kms:us-east-1:111122223333:key/canned";
    CannedHttp http = new CannedHttp(canned);
    try (KmsClient client =
            KmsClient.builder()
                .region(Region.US_EAST_1)
                .httpClient(http)
                .credentialsProvider(
                    StaticCredentialsProvider.create(
                        AwsBasicCredentials.create("AKIDEXAMPLE", "not-a-secret")))
                .build();
        PanopsCrypto c =
            crypto(client, canned)
                .cacheSettings(CacheSettings.builder().encryptMaxMessages(1).build())
                .build()) {
      for (int i = 0; i < 50; i++) {
        assertNotNull(c.tenant("t").encrypt(new byte[1], KC, AAD));
      }
    }
    // one GenerateDataKey per message (a key per message), plus at most one successor that refresh
    // ahead may have loaded for the last key before close()
    assertTrue(http.uris.size() == 50 || http.uris.size() == 51, "requests: " + http.uris.size());
    assertTrue(http.uris.stream().allMatch(u -> u.startsWith("https://")), http.uris.get(0));
  }

  @Test
  void onlyLiteralLoopbackAddressesCountAsLoopback() {
    for (String yes :
        new String[] {
          "127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]", "0:0:0:0:0:0:0:1", "0::1"
        }) {
      assertTrue(Endpoints.isLoopback(yes), yes);
    }
    for (String no :
        new String[] {
          "localhost", "cafe", "dead:beef", "beef", "128.0.0.1", "127.1", "127.0.0.1.",
              "127.0.0.256",
          "::", "::2", "::ffff:127.0.0.1", "fe80::1%lo", "1:2:3:4:5:6:7:8:9", "", "[::1",
              "0127.0.0.1"
        }) {
      assertFalse(Endpoints.isLoopback(no), no);
    }
  }
}
