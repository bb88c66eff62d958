package com.panops.crypto.kms;

import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.URI;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Whether a plain-HTTP request to a literal loopback address could be carried to a proxy instead.
 * The SDK's HTTP clients read their default proxy from the JVM's system properties and from the
 * environment ({@code ProxyConfiguration} of the Apache clients: {@code http.proxyHost}, {@code
 * HTTP_PROXY}, ...), the URL-connection client asks the default {@link ProxySelector}, and every
 * socket honours {@code socksProxyHost}. With any of these naming a proxy that is not itself a
 * literal loopback address, the signed request would go to a host reached by name, and its answer
 * (a data key) would be the proxy's. So the plain-HTTP opt-in refuses it.
 *
 * <p>Conservative on purpose: exclusion lists ({@code http.nonProxyHosts}, {@code NO_PROXY}) are
 * not trusted, because the HTTP clients read them differently (the SDK's Apache client, without
 * {@code http.nonProxyHosts}, proxies even 127.0.0.1, while the JDK's default exempts it). A proxy
 * configured explicitly on an HTTP client's builder cannot be seen from here: the caller's own
 * choice, documented in SECURITY.md. Only the setting's name and the proxy's host are ever
 * reported, never the value's user information (a proxy URL can carry a password). Internal.
 */
final class LocalHttpProxies {
  static final String ADVICE =
      "; with allowInsecureLocalKmsEndpoint() plain HTTP goes only to a literal loopback address,"
          + " never through a proxy: clear the proxy setting for this JVM, or point it at a literal"
          + " loopback address such as 127.0.0.1";

  private static final List<String> PROPERTIES =
      List.of("http.proxyHost", "https.proxyHost", "socksProxyHost");
  private static final List<String> VARIABLES =
      List.of("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy");

  private LocalHttpProxies() {}

  /** {@link #inTheWay(URI, UnaryOperator, UnaryOperator, ProxySelector)} with this JVM's. */
  static String inTheWay(URI target) {
    return inTheWay(target, System::getProperty, System::getenv, ProxySelector.getDefault());
  }

  /**
   * The first proxy setting that names a proxy other than a literal loopback address, described as
   * {@code "the proxy setting NAME (HOST) could carry it to a proxy"}, or {@code null}.
   */
  static String inTheWay(
      URI target,
      UnaryOperator<String> properties,
      UnaryOperator<String> environment,
      ProxySelector selector) {
    for (String p : PROPERTIES) {
      String v = properties.apply(p);
      if (v != null && !v.isBlank() && !Endpoints.isLoopback(v.trim())) {
        return describe("system property " + p, hostOf(v.trim())); // never user information
      }
    }
    for (String e : VARIABLES) {
      String v = environment.apply(e);
      if (v != null && !v.isBlank()) {
        String host = hostOf(v.trim());
        if (host == null || !Endpoints.isLoopback(host)) {
          return describe("environment variable " + e, host);
        }
      }
    }
    if (selector != null && target != null) {
      List<Proxy> proxies;
      try {
        proxies = selector.select(target);
      } catch (RuntimeException e) {
        return describe("default ProxySelector", null);
      }
      for (Proxy proxy : proxies == null ? List.<Proxy>of() : proxies) {
        if (proxy.type() == Proxy.Type.DIRECT) {
          continue;
        }
        String host = proxy.address() instanceof InetSocketAddress a ? a.getHostString() : null;
        if (host == null || !Endpoints.isLoopback(host)) {
          return describe("default ProxySelector", host);
        }
      }
    }
    return null;
  }

  private static String describe(String setting, String host) {
    return "the "
        + setting
        + (host == null ? "" : " (" + host + ")")
        + " could carry it to a proxy that is not a literal loopback address";
  }

  /** The host of a proxy URL or {@code host:port}, without user information; null if unparsable. */
  static String hostOf(String value) {
    String v = value.contains("://") ? value : "http://" + value;
    try {
      URI u = new URI(v);
      String h = u.getHost();
      return h == null || h.isEmpty() ? null : h;
    } catch (java.net.URISyntaxException e) {
      return null;
    }
  }
}
