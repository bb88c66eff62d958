package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.client;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * LocalKms's sockets run with TCP_NODELAY. Not a timing test: it reads the JDK HttpServer's own
 * effective setting ({@code sun.net.httpserver.ServerConfig.noDelay()}, opened to the tests by the
 * module's failsafe argLine), which is fixed once per JVM when the first HttpServer is created and
 * is false unless {@code sun.net.httpserver.nodelay} was set before that.
 */
class LocalKmsNoDelayIT {

  @Test
  void theJdkHttpServerBehindLocalKmsAcceptsConnectionsWithTcpNoDelay() throws Exception {
    try (LocalKms kms = LocalKms.start();
        KmsClient vendor = client(kms, kms.vendor())) {
      String key = kms.createKey("nodelay");
      vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32)); // a real request over HTTP
      assertEquals("true", System.getProperty("sun.net.httpserver.nodelay"));
      Class<?> config = Class.forName("sun.net.httpserver.ServerConfig");
      Method noDelay = config.getDeclaredMethod("noDelay");
      noDelay.setAccessible(true);
      assertTrue((Boolean) noDelay.invoke(null), "the JDK HttpServer runs without TCP_NODELAY");
    }
  }
}
