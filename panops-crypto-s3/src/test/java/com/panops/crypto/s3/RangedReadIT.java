package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.PanopsCrypto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** Ranged reads against a reference: the plaintext array sliced as HTTP ranges slice it. */
class RangedReadIT {
  private static final int F = 4096; // frame size of this test's objects
  private static final int SMALL = 3 * F + 100; // fits in the first 16 KiB fetched
  private static final int BIG = 40 * F + 1234; // needs a second GET
  private static final int EXACT = 8 * F; // a whole number of frames

  private static S3TestEnv env;
  private static PanopsCrypto crypto;
  private static EncryptingS3Client s3;
  private static String bucket;
  private static final List<String> ranges = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void start() {
    env = S3TestEnv.get();
    crypto = env.crypto("t", env.freshKey());
    ExecutionInterceptor recorder =
        new ExecutionInterceptor() {
          @Override
          public void beforeTransmission(
              Context.BeforeTransmission context, ExecutionAttributes attributes) {
            SdkHttpRequest r = context.httpRequest();
            if (r.method() == SdkHttpMethod.GET) {
              ranges.add(r.firstMatchingHeader("Range").orElse("none"));
            }
          }
        };
    s3 = env.client(crypto, "t", recorder).build();
    bucket = env.freshBucket();
    for (int size : new int[] {SMALL, BIG, EXACT, 1}) {
      s3.putObject(r -> r.bucket(bucket).key("o" + size), RequestBody.fromBytes(body(size)));
    }
  }

  @AfterAll
  static void stop() {
    s3.close();
    crypto.close();
  }

  static byte[] body(int size) {
    return S3TestEnv.bytes(size * 31L, size);
  }

  static Stream<Object[]> shapes() {
    List<Object[]> l = new ArrayList<>();
    for (int p : new int[] {SMALL, BIG, EXACT, 1}) {
      List<String> rs =
          new ArrayList<>(
              List.of(
                  "bytes=0-0",
                  "bytes=0-",
                  "bytes=-1",
                  "bytes=-" + p,
                  "bytes=-" + (p + 10_000),
                  "bytes=0-" + (p - 1),
                  "bytes=0-" + (p + 999_999),
                  "bytes=" + (p - 1) + "-",
                  "bytes=" + (p - 1) + "-" + (p - 1)));
      if (p > 2 * F) {
        rs.addAll(
            List.of(
                "bytes=0-" + (F - 1), // exactly frame 0
                "bytes=" + (F - 1) + "-" + F, // straddles frames 0 and 1
                "bytes=" + F + "-" + (2 * F - 1), // exactly frame 1
                "bytes=" + (F + 17) + "-" + (2 * F + 5),
                "bytes=" + (2 * F) + "-",
                "bytes=-" + (F + 1),
                "bytes=-" + F,
                "bytes=" + (p / 2) + "-" + (p / 2 + 3 * F),
                "bytes=" + (p - F - 3) + "-" + (p + 5)));
      }
      for (String r : rs) {
        l.add(new Object[] {p, r});
      }
    }
    return l.stream();
  }

  @ParameterizedTest(name = "{0} bytes, {1}")
  @MethodSource("shapes")
  void rangedGet_returnsExactlyTheBytesHttpWould(int size, String range) {
    byte[] whole = body(size);
    long[] se = reference(range, size);
    ResponseBytes<GetObjectResponse> got =
        s3.getObjectAsBytes(r -> r.bucket(bucket).key("o" + size).range(range));
    assertArrayEquals(Arrays.copyOfRange(whole, (int) se[0], (int) se[1] + 1), got.asByteArray());
    assertEquals(se[1] - se[0] + 1, got.response().contentLength());
    assertEquals(
        "bytes " + se[0] + "-" + se[1] + "/" + size, got.response().contentRange(), "plaintext");
  }

  @Test
  void rangeInsideALargeObject_fetchesTheHeaderThenOnlyTheFramesThatCoverIt() {
    ranges.clear();
    long start = 20L * F + 10;
    long end = 21L * F + 10; // frames 20 and 21
    s3.getObjectAsBytes(r -> r.bucket(bucket).key("o" + BIG).range("bytes=" + start + "-" + end));
    assertEquals(2, ranges.size(), "two GETs: " + ranges);
    assertEquals("bytes=0-" + (EncryptingS3Client.PREFIX_FETCH - 1), ranges.get(0));
    String second = ranges.get(1);
    long[] ct = parse(second);
    long unit = F + 16;
    assertEquals(2 * unit, ct[1] - ct[0] + 1, "exactly two frames fetched: " + second);
  }

  @Test
  void rangeInASmallObject_isServedFromTheFirstGet() {
    ranges.clear();
    s3.getObjectAsBytes(r -> r.bucket(bucket).key("o" + SMALL).range("bytes=5000-5010"));
    assertEquals(1, ranges.size(), "one GET: " + ranges);
  }

  @Test
  void unsatisfiableRange_isAn416LikeS3() {
    S3Exception e =
        assertThrows(
            S3Exception.class,
            () ->
                s3.getObjectAsBytes(
                    r -> r.bucket(bucket).key("o" + SMALL).range("bytes=" + SMALL + "-")));
    assertEquals(416, e.statusCode());
    assertEquals("InvalidRange", e.awsErrorDetails().errorCode());
    assertThrows(
        S3Exception.class,
        () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("o" + SMALL).range("bytes=-0")));
  }

  @Test
  void malformedOrMultipleRanges_areRefused() {
    for (String bad : List.of("bytes=5-2", "bytes=0-1,4-5", "items=0-1", "bytes=a-b", "0-1")) {
      assertThrows(
          IllegalArgumentException.class,
          () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("o" + SMALL).range(bad)),
          bad);
    }
  }

  @Test
  void tamperedFrame_failsARangeThatCoversIt_andNotARangeThatDoesNot() {
    String key = "tampered-range";
    byte[] plain = body(BIG);
    s3.putObject(r -> r.bucket(bucket).key(key), RequestBody.fromBytes(plain));
    ResponseBytes<GetObjectResponse> stored =
        env.raw.getObjectAsBytes(r -> r.bucket(bucket).key(key));
    byte[] ct = stored.asByteArray();
    int header = Integer.parseInt(stored.response().metadata().get("panops-header-length"));
    ct[header + 30 * (F + 16) + 100] ^= 1; // inside frame 30
    env.raw.putObject(
        r -> r.bucket(bucket).key(key).metadata(stored.response().metadata()),
        RequestBody.fromBytes(ct));

    assertThrows(
        S3IntegrityException.class,
        () ->
            s3.getObjectAsBytes(
                r ->
                    r.bucket(bucket).key(key).range("bytes=" + (30 * F + 5) + "-" + (30 * F + 9))));
    byte[] ok =
        s3.getObjectAsBytes(r -> r.bucket(bucket).key(key).range("bytes=" + F + "-" + (3 * F)))
            .asByteArray();
    assertArrayEquals(Arrays.copyOfRange(plain, F, 3 * F + 1), ok);
    assertTrue(ok.length > 0);
  }

  private static long[] parse(String range) {
    String spec = range.substring("bytes=".length());
    int dash = spec.indexOf('-');
    return new long[] {
      Long.parseLong(spec.substring(0, dash)), Long.parseLong(spec.substring(dash + 1))
    };
  }

  /** The reference: what RFC 9110 selects for a satisfiable single byte range. */
  private static long[] reference(String range, long length) {
    String spec = range.substring("bytes=".length());
    int dash = spec.indexOf('-');
    String a = spec.substring(0, dash);
    String b = spec.substring(dash + 1);
    if (a.isEmpty()) {
      long n = Long.parseLong(b);
      return new long[] {Math.max(0, length - n), length - 1};
    }
    long s = Long.parseLong(a);
    long e = b.isEmpty() ? length - 1 : Math.min(Long.parseLong(b), length - 1);
    return new long[] {s, e};
  }
}
