package com.panops.crypto.testkit.internal.kms;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.testkit.LocalKmsException;
import com.panops.crypto.testkit.Principal;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The wire side of LocalKms: the KMS JSON 1.1 protocol over HTTP on 127.0.0.1 ({@code POST /},
 * {@code X-Amz-Target: TrentService.<Operation>}, {@code application/x-amz-json-1.1}, errors as
 * {@code {"__type": ..., "message": ...}} with HTTP 400, or 500 for {@code KMSInternalException}).
 *
 * <p>Order of checks, each answered KMS-style and recorded in the trail: body size (over the limit
 * is a {@code ValidationException}, read no further than the limit, and the connection is closed),
 * the target header ({@code UnknownOperationException}), SigV4 authentication (see {@code
 * WireAuthentication}), the JSON body ({@code SerializationException}), then faults and the
 * operation itself. A handler never lets an exception escape: anything unexpected is a 500 {@code
 * KMSInternalException}.
 */
public final class KmsHttpServer implements AutoCloseable {

  /**
   * The JDK's switch for TCP_NODELAY on the sockets its HttpServer accepts. Without it every
   * response pays Nagle's algorithm against the client's delayed ACK (the server writes the headers
   * and the body separately): about 48 ms p50 per loopback call instead of about 12 ms.
   */
  static final String NODELAY_PROPERTY = "sun.net.httpserver.nodelay";

  static {
    // sun.net.httpserver.ServerConfig reads the property once, in its static initialiser, which
    // runs when the first HttpServer of the JVM is created. This class initialises before its
    // constructor creates that server, so setting the property here is early enough unless
    // something else created a JDK HttpServer in this JVM first. An explicit setting (e.g.
    // -Dsun.net.httpserver.nodelay=false) is left alone.
    try {
      if (System.getProperty(NODELAY_PROPERTY) == null) {
        System.setProperty(NODELAY_PROPERTY, "true");
      }
    } catch (SecurityException e) {
      // no permission to set properties: LocalKms still works, only slower
    }
  }

  static final String JSON_1_1 = "application/x-amz-json-1.1";
  private static final String TARGET_PREFIX = "TrentService.";
  private static final long DRAIN_LIMIT = 1L << 20;
  private static final ObjectMapper READER =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private final HttpServer server;
  private final ExecutorService executor;
  private final KmsEngine engine;
  private final WireAuthentication authentication;
  private final FaultSource faults;
  private final int maxBodyBytes;

  /**
   * @param principals looks a principal up by access key id; returns null if unknown
   */
  public KmsHttpServer(
      int port,
      KmsEngine engine,
      Function<String, Principal> principals,
      FaultSource faults,
      String region,
      int maxBodyBytes,
      int threads) {
    this.engine = engine;
    this.authentication = new WireAuthentication(principals, region);
    this.faults = faults;
    this.maxBodyBytes = maxBodyBytes;
    AtomicInteger n = new AtomicInteger();
    ThreadFactory tf =
        r -> {
          Thread t = new Thread(r, "local-kms-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    this.executor = Executors.newFixedThreadPool(threads, tf);
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 64);
    } catch (IOException e) {
      executor.shutdownNow();
      throw new UncheckedIOException("LocalKms cannot listen on 127.0.0.1:" + port, e);
    }
    server.setExecutor(executor);
    server.createContext("/", new Handler());
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private record Response(int status, byte[] body, boolean closeConnection) {}

  private final class Handler implements HttpHandler {
    @Override
    public void handle(HttpExchange exchange) {
      String requestId = UUID.randomUUID().toString();
      try {
        Response response;
        try {
          response = process(exchange, requestId);
        } catch (DropConnectionSignal drop) {
          // Without response headers, HttpExchange.close() closes the socket: the client sees
          // the connection end with no HTTP response at all.
          exchange.close();
          return;
        } catch (LocalKmsException e) {
          response = error(e);
        } catch (Throwable e) { // never crash a handler thread: anything else is a KMS 500
          response =
              error(
                  new LocalKmsException(
                      "KMSInternalException", 500, "LocalKms failed internally."));
        }
        send(exchange, response, requestId);
      } catch (Throwable t) {
        // nothing more can be done for this exchange; the connection is closed below
      } finally {
        exchange.close();
      }
    }
  }

  private Response process(HttpExchange exchange, String requestId) {
    Headers headers = exchange.getRequestHeaders();
    String target = headers.getFirst("X-Amz-Target");
    String operation =
        target != null && target.startsWith(TARGET_PREFIX)
            ? target.substring(TARGET_PREFIX.length())
            : null;
    byte[] body;
    try {
      body = readBody(exchange);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    if (body == null) {
      return oversized(operation, requestId);
    }
    String method = exchange.getRequestMethod();
    if (!method.equals("POST") || operation == null || !KmsEngine.isOperation(operation)) {
      return unknownOperation(method, operation, requestId);
    }
    Json json = parse(body);
    Principal caller;
    try {
      caller = authentication.authenticate(exchange, body);
    } catch (WireAuthentication.AuthFailure f) {
      engine.recordRejected(
          f.callerArn,
          operation,
          json.malformed() ? null : json.node(),
          requestId,
          f.error.errorCode());
      return error(f.error);
    }
    if (json.malformed() || json.node() == null || !json.node().isObject()) {
      engine.recordRejected(caller.arn(), operation, null, requestId, "SerializationException");
      return error(
          LocalKmsException.of(
              "SerializationException",
              json.malformed()
                  ? "The request body is not valid JSON."
                  : "The request body must be a JSON object."));
    }
    ObjectNode result =
        engine.execute(
            caller, operation, json.node(), requestId, faults, headers.getFirst("User-Agent"));
    return new Response(200, result.toString().getBytes(StandardCharsets.UTF_8), false);
  }

  /** A request body over the limit: refused, and the connection closed after the answer. */
  private Response oversized(String operation, String requestId) {
    engine.recordRejected(null, operation, null, requestId, "ValidationException");
    LocalKmsException e =
        LocalKmsException.of(
            "ValidationException",
            "The request body exceeds the maximum of " + maxBodyBytes + " bytes.");
    Response r = error(e);
    return new Response(r.status(), r.body(), true);
  }

  private Response unknownOperation(String method, String operation, String requestId) {
    engine.recordRejected(null, operation, null, requestId, "UnknownOperationException");
    String what =
        !method.equals("POST")
            ? "KMS accepts only POST requests."
            : operation == null
                ? "Missing or invalid X-Amz-Target header."
                : "Unknown operation " + operation;
    return error(LocalKmsException.of("UnknownOperationException", what));
  }

  /** The body as JSON (an empty body is an empty object), or malformed if it is not JSON. */
  private record Json(JsonNode node, boolean malformed) {}

  private static Json parse(byte[] body) {
    try {
      return new Json(body.length == 0 ? READER.createObjectNode() : READER.readTree(body), false);
    } catch (JsonProcessingException e) {
      return new Json(null, true);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The body, or null if it is longer than the limit. At most limit + 1 bytes are kept; the rest of
   * an oversized body is read and discarded up to {@link #DRAIN_LIMIT} bytes, so that the client
   * can read the error instead of a reset connection, and never further (the connection is then
   * closed).
   */
  private byte[] readBody(HttpExchange exchange) throws IOException {
    String length = exchange.getRequestHeaders().getFirst("Content-Length");
    long declared = -1;
    if (length != null) {
      try {
        declared = Long.parseLong(length.trim());
      } catch (NumberFormatException e) {
        declared = Long.MAX_VALUE;
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try (InputStream in = exchange.getRequestBody()) {
      if (declared > maxBodyBytes) {
        drain(in, buf);
        return null;
      }
      int total = 0;
      int n;
      while ((n = in.read(buf, 0, Math.min(buf.length, maxBodyBytes + 1 - total))) > 0) {
        out.write(buf, 0, n);
        total += n;
        if (total > maxBodyBytes) {
          drain(in, buf);
          return null;
        }
      }
    }
    return out.toByteArray();
  }

  private static void drain(InputStream in, byte[] buf) throws IOException {
    long drained = 0;
    int n;
    while (drained < DRAIN_LIMIT && (n = in.read(buf)) > 0) {
      drained += n;
    }
  }

  private static Response error(LocalKmsException e) {
    ObjectNode body = KmsEngine.MAPPER.createObjectNode();
    body.put("__type", e.errorCode());
    body.put("message", e.getMessage());
    return new Response(e.httpStatus(), body.toString().getBytes(StandardCharsets.UTF_8), false);
  }

  private static void send(HttpExchange exchange, Response response, String requestId)
      throws IOException {
    Headers h = exchange.getResponseHeaders();
    h.set("Content-Type", JSON_1_1);
    h.set("x-amzn-RequestId", requestId);
    if (response.closeConnection()) {
      h.set("Connection", "close");
    }
    exchange.sendResponseHeaders(response.status(), response.body().length);
    try (var out = exchange.getResponseBody()) {
      out.write(response.body());
    }
  }
}
