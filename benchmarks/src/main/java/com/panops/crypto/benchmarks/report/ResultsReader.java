package com.panops.crypto.benchmarks.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads a results folder: every JMH JSON file ({@code NAME.json}, in name order), the aux log of
 * the same set ({@code NAME.aux.jsonl}: KMS calls, peak heap, one record per fork) and {@code
 * machine.properties} written by {@code run-all.sh}.
 */
final class ResultsReader {
  static final String PKG = "com.panops.crypto.benchmarks.";

  /** Aux values that count something over a fork; summed over the forks. */
  private static final Set<String> COUNTERS =
      Set.of(
          "ops",
          "kmsGenerateDataKey",
          "kmsDecrypt",
          "kmsEncrypt",
          "kmsReEncrypt",
          "kmsCalls",
          "dataKeyCalls",
          "probeCalls",
          "measuredNanos",
          "probesOnRequestThreads",
          "requestsOnStaleKeys");

  private final ObjectMapper json = new ObjectMapper();

  /** Reads every {@code *.json}, its {@code .aux.jsonl} and {@code machine.properties}. */
  Results read(Path dir) throws IOException {
    Results r = new Results();
    Path props = dir.resolve("machine.properties");
    if (Files.exists(props)) {
      try (Reader in = Files.newBufferedReader(props, StandardCharsets.UTF_8)) {
        r.machine.load(in);
      }
    }
    for (Path f : jsonFiles(dir)) {
      String name = f.getFileName().toString();
      String dataset = name.substring(0, name.length() - ".json".length());
      Path auxFile = dir.resolve(dataset + ".aux.jsonl");
      Map<String, Map<String, Double>> aux = readAux(auxFile);
      if (Files.exists(auxFile)) {
        r.auxLines.put(dataset, nonBlankLines(auxFile));
      }
      JsonNode arr;
      try (InputStream in = Files.newInputStream(f)) {
        arr = json.readTree(in);
      }
      if (arr == null || !arr.isArray()) {
        continue;
      }
      for (JsonNode b : arr) {
        r.rows.add(row(dataset, b, aux));
      }
    }
    return r;
  }

  private static List<Path> jsonFiles(Path dir) throws IOException {
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
      ds.forEach(files::add);
    }
    files.sort(null);
    return files;
  }

  private static int nonBlankLines(Path file) throws IOException {
    return (int)
        Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).count();
  }

  static String auxKey(String benchmark, String mode, int threads, Map<String, String> params) {
    return benchmark + "|" + mode + "|" + threads + "|" + new TreeMap<>(params);
  }

  /** The aux records of a set by {@link #auxKey}, merged over the forks. */
  private Map<String, Map<String, Double>> readAux(Path file) throws IOException {
    Map<String, Map<String, Double>> m = new LinkedHashMap<>();
    if (!Files.exists(file)) {
      return m;
    }
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode n = json.readTree(line);
      Map<String, Double> values = new LinkedHashMap<>();
      n.properties()
          .forEach(
              e -> {
                if (e.getValue().isNumber() && !e.getKey().equals("threads")) {
                  values.put(e.getKey(), e.getValue().asDouble());
                }
              });
      // one record per fork: counters add up, everything else (heap, probe lag) keeps the worst
      m.merge(
          auxKey(
              n.path("benchmark").asText(),
              n.path("mode").asText(),
              n.path("threads").asInt(),
              params(n)),
          values,
          ResultsReader::mergeForks);
    }
    return m;
  }

  private static Map<String, String> params(JsonNode n) {
    Map<String, String> params = new TreeMap<>();
    n.path("params").properties().forEach(e -> params.put(e.getKey(), e.getValue().asText()));
    return params;
  }

  private static Map<String, Double> mergeForks(Map<String, Double> a, Map<String, Double> b) {
    Map<String, Double> m = new LinkedHashMap<>(a);
    b.forEach((k, v) -> m.merge(k, v, COUNTERS.contains(k) ? Double::sum : Math::max));
    return m;
  }

  /** A JSON number, or a number written as text; NaN for anything else. */
  static double num(JsonNode n) {
    if (n == null || n.isMissingNode() || n.isNull()) {
      return Double.NaN;
    }
    if (n.isNumber()) {
      return n.asDouble();
    }
    try {
      return Double.parseDouble(n.asText());
    } catch (NumberFormatException e) {
      return Double.NaN;
    }
  }

  private static Row row(String dataset, JsonNode b, Map<String, Map<String, Double>> aux) {
    String benchmark = b.path("benchmark").asText();
    String simple = benchmark.startsWith(PKG) ? benchmark.substring(PKG.length()) : benchmark;
    int dot = simple.lastIndexOf('.');
    Map<String, String> params = params(b);
    JsonNode pm = b.path("primaryMetric");
    JsonNode pct = pm.path("scorePercentiles");
    String mode = b.path("mode").asText();
    int threads = b.path("threads").asInt(1);
    Map<String, Double> a = aux.getOrDefault(auxKey(benchmark, mode, threads, params), Map.of());
    return new Row(
        dataset,
        simple.substring(0, dot),
        simple.substring(dot + 1),
        mode,
        threads,
        params,
        num(pm.path("score")),
        num(pm.path("scoreError")),
        pm.path("scoreUnit").asText(),
        num(pct.path("50.0")),
        num(pct.path("0.0")),
        num(pct.path("100.0")),
        b.path("measurementIterations").asInt(),
        b.path("warmupIterations").asInt(),
        allocPerOp(b),
        a,
        b);
  }

  /** {@code gc.alloc.rate.norm} of {@code -prof gc}, or null without it. */
  private static Double allocPerOp(JsonNode b) {
    Double alloc = null;
    for (Map.Entry<String, JsonNode> e : b.path("secondaryMetrics").properties()) {
      String k = e.getKey().replace("\u00b7", "");
      if (k.equals("gc.alloc.rate.norm")) {
        alloc = num(e.getValue().path("score"));
      }
    }
    return alloc;
  }
}
