package com.panops.crypto.benchmarks.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;

/**
 * The results of one run as read from its folder: every JMH result, the number of aux records per
 * set, and {@code machine.properties}; with the look-ups the sections make.
 */
final class Results {
  final List<Row> rows = new ArrayList<>();

  /** Non-blank lines of each set's aux log (one per fork), for the sets that have one. */
  final Map<String, Integer> auxLines = new LinkedHashMap<>();

  final Properties machine = new Properties();

  List<Row> select(Predicate<Row> p) {
    List<Row> l = new ArrayList<>();
    for (Row r : rows) {
      if (p.test(r)) {
        l.add(r);
      }
    }
    return l;
  }

  /** The first result of {@code cls} that matches {@code p}, or null. */
  private Row first(String cls, Predicate<Row> p) {
    for (Row r : rows) {
      if (r.cls().equals(cls) && p.test(r)) {
        return r;
      }
    }
    return null;
  }

  /** The one envelope result of {@code method} at this size, thread count and KMS latency. */
  Row envelope(String method, int size, int threads, int latencyMs) {
    return first(
        "EnvelopeBenchmark",
        r ->
            r.method().equals(method)
                && r.threads() == threads
                && r.intParam("payloadSize") == size
                && r.intParam("kmsLatencyMs") == latencyMs);
  }

  /** The envelope results at this size, thread count and KMS latency. */
  List<Row> envelopes(int size, int threads, int latencyMs) {
    return select(
        r ->
            r.cls().equals("EnvelopeBenchmark")
                && r.threads() == threads
                && r.intParam("payloadSize") == size
                && r.intParam("kmsLatencyMs") == latencyMs);
  }

  /** The first result of {@code cls.method} with this parameter value (any, if the key is null). */
  Row find(String cls, String method, String paramKey, String paramValue) {
    return first(
        cls,
        r ->
            r.method().equals(method)
                && (paramKey == null || paramValue.equals(r.param(paramKey))));
  }

  /** The many-tenants result of {@code impl} at 5 ms KMS latency. */
  Row manyTenants(String impl) {
    return manyTenants(impl, "5");
  }

  Row manyTenants(String impl, String kmsLatencyMs) {
    return first(
        "ManyTenantsBenchmark",
        r -> impl.equals(r.param("impl")) && kmsLatencyMs.equals(r.param("kmsLatencyMs")));
  }

  String machine(String key, String otherwise) {
    return machine.getProperty(key, otherwise);
  }
}
