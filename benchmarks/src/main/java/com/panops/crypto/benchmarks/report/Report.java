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
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Renders {@code RESULTS.md} from a results folder: every JMH JSON file ({@code NAME.json}), the
 * aux log of the same run ({@code NAME.aux.jsonl}: KMS calls, peak heap) and {@code
 * machine.properties} written by {@code run-all.sh}. Figures are medians of the measurement
 * iterations; noise is the JMH score error (99.9%) and the min–max of the iterations.
 *
 * <pre>{@code
 * java -cp benchmarks/target/benchmarks.jar com.panops.crypto.benchmarks.report.Report \
 *     benchmarks/results benchmarks/RESULTS.md
 * }</pre>
 */
public final class Report {
  static final String PKG = "com.panops.crypto.benchmarks.";
  static final int[] SIZES = {64, 1024, 65536, 1048576};
  static final String[] IMPLS = {
    "ours", "oursStream", "rawGcm", "esdkCaching", "esdkKeyring", "tink"
  };
  static final Map<String, String> IMPL_NAMES = new LinkedHashMap<>();

  static {
    IMPL_NAMES.put("ours", "panops-crypto `byte[]`");
    IMPL_NAMES.put("oursStream", "panops-crypto streams");
    IMPL_NAMES.put("rawGcm", "raw JDK AES-GCM (ceiling)");
    IMPL_NAMES.put("esdkCaching", "AWS ESDK 3.x caching CMM");
    IMPL_NAMES.put("esdkKeyring", "AWS ESDK 3.x KMS keyring");
    IMPL_NAMES.put("tink", "Tink KmsEnvelopeAead");
  }

  /** One JMH result (one benchmark method with one set of parameters and thread count). */
  record Row(
      String dataset,
      String cls,
      String method,
      String mode,
      int threads,
      Map<String, String> params,
      double score,
      double error,
      String unit,
      double median,
      double min,
      double max,
      int iterations,
      int warmupIterations,
      Double allocPerOp,
      Map<String, Double> aux,
      JsonNode raw) {

    String param(String k) {
      return params.get(k);
    }

    int intParam(String k) {
      String v = params.get(k);
      return v == null ? -1 : Integer.parseInt(v);
    }

    /** Relative half-width of the 99.9% interval, or NaN. */
    double relError() {
      return Double.isNaN(error) || score == 0 ? Double.NaN : error / score;
    }

    Double kmsPerOp() {
      Double calls = aux.get("kmsCalls");
      Double ops = aux.get("ops");
      return calls == null || ops == null || ops == 0 ? null : calls / ops;
    }
  }

  private final List<Row> rows = new ArrayList<>();
  private final Properties machine = new Properties();
  private final StringBuilder out = new StringBuilder();
  private int pass;
  private int miss;
  private int notRun;

  public static void main(String[] args) throws IOException {
    Path dir = Paths.get(args.length > 0 ? args[0] : "benchmarks/results");
    Path target = Paths.get(args.length > 1 ? args[1] : "benchmarks/RESULTS.md");
    Report r = load(dir);
    Path analysis = target.resolveSibling("ANALYSIS.md");
    if (Files.exists(analysis)) {
      r.analysis = Files.readString(analysis, StandardCharsets.UTF_8);
    }
    Files.writeString(target, r.render(), StandardCharsets.UTF_8);
    System.out.println(
        "wrote " + target + ": " + r.pass + " PASS, " + r.miss + " MISS, " + r.notRun + " NOT RUN");
  }

  /** Reads every {@code *.json}, its {@code .aux.jsonl} and {@code machine.properties}. */
  static Report load(Path dir) throws IOException {
    Report r = new Report();
    ObjectMapper json = new ObjectMapper();
    Path props = dir.resolve("machine.properties");
    if (Files.exists(props)) {
      try (Reader in = Files.newBufferedReader(props, StandardCharsets.UTF_8)) {
        r.machine.load(in);
      }
    }
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
      ds.forEach(files::add);
    }
    files.sort(null);
    for (Path f : files) {
      String name = f.getFileName().toString();
      String dataset = name.substring(0, name.length() - ".json".length());
      Map<String, Map<String, Double>> aux = readAux(json, dir.resolve(dataset + ".aux.jsonl"));
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

  static String auxKey(String benchmark, String mode, int threads, Map<String, String> params) {
    return benchmark + "|" + mode + "|" + threads + "|" + new TreeMap<>(params);
  }

  private static Map<String, Map<String, Double>> readAux(ObjectMapper json, Path file)
      throws IOException {
    Map<String, Map<String, Double>> m = new LinkedHashMap<>();
    if (!Files.exists(file)) {
      return m;
    }
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode n = json.readTree(line);
      Map<String, String> params = new TreeMap<>();
      n.path("params").properties().forEach(e -> params.put(e.getKey(), e.getValue().asText()));
      Map<String, Double> values = new LinkedHashMap<>();
      n.properties()
          .forEach(
              e -> {
                if (e.getValue().isNumber() && !e.getKey().equals("threads")) {
                  values.put(e.getKey(), e.getValue().asDouble());
                }
              });
      // the same run twice (a re-run appended): the last one wins
      m.put(
          auxKey(
              n.path("benchmark").asText(),
              n.path("mode").asText(),
              n.path("threads").asInt(),
              params),
          values);
    }
    return m;
  }

  private static double num(JsonNode n) {
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
    Map<String, String> params = new TreeMap<>();
    b.path("params").properties().forEach(e -> params.put(e.getKey(), e.getValue().asText()));
    JsonNode pm = b.path("primaryMetric");
    JsonNode pct = pm.path("scorePercentiles");
    Double alloc = null;
    for (Map.Entry<String, JsonNode> e : b.path("secondaryMetrics").properties()) {
      String k = e.getKey().replace("\u00b7", "");
      if (k.equals("gc.alloc.rate.norm")) {
        alloc = num(e.getValue().path("score"));
      }
    }
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
        alloc,
        a,
        b);
  }

  // ------------------------------------------------------------------ look-ups

  List<Row> select(Predicate<Row> p) {
    List<Row> l = new ArrayList<>();
    for (Row r : rows) {
      if (p.test(r)) {
        l.add(r);
      }
    }
    return l;
  }

  /** The one envelope result of {@code method} at this size, thread count and KMS latency. */
  Row envelope(String method, int size, int threads, int latencyMs) {
    for (Row r : rows) {
      if (r.cls.equals("EnvelopeBenchmark")
          && r.method.equals(method)
          && r.threads == threads
          && r.intParam("payloadSize") == size
          && r.intParam("kmsLatencyMs") == latencyMs) {
        return r;
      }
    }
    return null;
  }

  Row find(String cls, String method, String paramKey, String paramValue) {
    for (Row r : rows) {
      if (r.cls.equals(cls)
          && r.method.equals(method)
          && (paramKey == null || paramValue.equals(r.param(paramKey)))) {
        return r;
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ rendering

  /** Hand-written analysis of the misses ({@code ANALYSIS.md} beside the report), or null. */
  String analysis;

  String render() {
    out.setLength(0);
    pass = 0;
    miss = 0;
    notRun = 0;
    line("# Benchmark results");
    line();
    line(
        "Generated by `benchmarks/run-all.sh` (JMH "
            + jmhVersion()
            + "); how to read it: `benchmarks/README.md`. "
            + "Figures are **medians** of the measurement iterations; *noise* is JMH's 99.9% "
            + "score error as a percentage of the score, and the min–max of the iterations. "
            + "MB/s are 10^6 bytes of plaintext per second.");
    line();
    machineSection();
    StringBuilder body = new StringBuilder();
    StringBuilder saved = new StringBuilder(out);
    out.setLength(0);
    throughputSection();
    threadsSection();
    latencySection();
    killSwitchSection();
    coldStartSection();
    s3Section();
    jdbcSection();
    noiseSection();
    body.append(out);
    out.setLength(0);
    targetsSection();
    StringBuilder targets = new StringBuilder(out);
    out.setLength(0);
    out.append(saved).append(targets);
    if (analysis != null) {
      out.append(analysis.strip()).append("\n\n");
    }
    out.append(body);
    return out.toString();
  }

  private String jmhVersion() {
    return rows.isEmpty() ? "?" : rows.get(0).raw.path("jmhVersion").asText("?");
  }

  private void machineSection() {
    line("## Machine and run");
    line();
    line("| | |");
    line("|---|---|");
    kv("Date", machine.getProperty("date", "unknown"));
    kv("CPU", machine.getProperty("cpu", "unknown"));
    kv("Cores (`nproc`)", machine.getProperty("nproc", "unknown"));
    kv("Memory", machine.getProperty("memory", "unknown"));
    kv("OS", machine.getProperty("os", "unknown"));
    if (!rows.isEmpty()) {
      JsonNode r = rows.get(0).raw;
      kv(
          "JDK",
          r.path("jdkVersion").asText()
              + ", "
              + r.path("vmName").asText()
              + " "
              + r.path("vmVersion").asText());
      kv("JVM options of the forks", "`" + String.join(" ", jvmArgs(r)) + "`");
    }
    kv(
        "Load average before / after",
        machine.getProperty("load.before", "?") + " / " + machine.getProperty("load.after", "?"));
    kv("Wall time of the run", machine.getProperty("duration", "?"));
    TreeSet<String> sets = new TreeSet<>();
    for (Row r : rows) {
      JsonNode x = r.raw;
      sets.add(
          "`"
              + r.dataset
              + "`: "
              + x.path("forks").asInt()
              + " fork(s), "
              + (x.path("warmupIterations").asInt() == 0
                  ? "no"
                  : x.path("warmupIterations").asInt() + " × " + x.path("warmupTime").asText())
              + " warm-up, "
              + x.path("measurementIterations").asInt()
              + " × "
              + x.path("measurementTime").asText()
              + " measured, "
              + r.threads
              + " thread(s)");
    }
    kv("Runs", String.join("<br>", sets));
    line();
  }

  private static List<String> jvmArgs(JsonNode r) {
    List<String> l = new ArrayList<>();
    for (JsonNode a : r.path("jvmArgs")) {
      String s = a.asText();
      if (!s.startsWith("-Dpanops.bench.aux") && !s.startsWith("-Dpanops.s3mock")) {
        l.add(s);
      }
    }
    return l;
  }

  private void targetsSection() {
    line("## Targets (issue 6)");
    line();
    for (String op : new String[] {"Encrypt", "Decrypt"}) {
      Row o = envelope("ours" + op, 1024, 1, 0);
      Row e = envelope("esdkCaching" + op, 1024, 1, 0);
      check("1 KiB cached " + lc(op) + " ≥ 8× the ESDK caching CMM", o, e, 8.0);
    }
    for (String op : new String[] {"Encrypt", "Decrypt"}) {
      Row o = envelope("ours" + op, 1024, 1, 0);
      Row g = envelope("rawGcm" + op, 1024, 1, 0);
      check("1 KiB " + lc(op) + " ≥ 0.5× raw GCM", o, g, 0.5);
    }
    for (int size : new int[] {65536, 1048576}) {
      for (String op : new String[] {"Encrypt", "Decrypt"}) {
        Row o = envelope("ours" + op, size, 1, 0);
        Row g = envelope("rawGcm" + op, size, 1, 0);
        check(size(size) + " " + lc(op) + " MB/s ≥ 0.9× raw GCM", o, g, 0.9);
      }
    }
    for (int size : SIZES) {
      for (String op : new String[] {"Encrypt", "Decrypt"}) {
        Row two = envelope("ours" + op, size, 2, 0);
        Row one = envelope("ours" + op, size, 1, 0);
        check(size(size) + " " + lc(op) + ": 2 threads ≥ 1.8× one thread", two, one, 1.8);
      }
    }
    for (int size : SIZES) {
      for (String op : new String[] {"Encrypt", "Decrypt"}) {
        Row o = envelope("ours" + op, size, 1, 0);
        String what = size(size) + " `byte[]` " + lc(op) + " allocates ≤ payload + 512 B";
        if (o == null || o.allocPerOp == null) {
          verdict(null, what, "not measured (run with `-prof gc`)");
        } else {
          double a = o.allocPerOp;
          verdict(
              a <= size + 512,
              what,
              String.format(Locale.ROOT, "%,.0f B/op (payload + %,.0f B)", a, a - size));
        }
      }
    }
    for (String op : new String[] {"Encrypt", "Decrypt"}) {
      Row slow = envelope("ours" + op, 1024, 1, 5);
      Row fast = envelope("ours" + op, 1024, 1, 0);
      check("1 KiB " + lc(op) + ": 5 ms KMS latency costs < 5% on the warm path", slow, fast, 0.95);
    }
    for (String size : new String[] {"1048576", "67108864"}) {
      for (String op : new String[] {"Put", "Get"}) {
        Row o = find("S3Benchmark", "panops" + op, "objectSize", size);
        Row p = find("S3Benchmark", "plain" + op, "objectSize", size);
        check(
            "S3 " + lc(op) + " of " + size(Integer.parseInt(size)) + " ≥ 0.9× plain `S3Client`",
            o,
            p,
            0.9);
      }
    }
    for (String op : new String[] {"Put", "Get"}) {
      Row o = find("S3Benchmark", "panops" + op, "objectSize", "67108864");
      Row p = find("S3Benchmark", "plain" + op, "objectSize", "67108864");
      String what =
          "S3 "
              + lc(op)
              + " of 64 MiB: heap bounded (peak live heap over plain `S3Client` ≤ 16 MiB:"
              + " one 8 MiB multipart part and a few 64 KiB frames, not the object)";
      Double ho = o == null ? null : o.aux.get("heapPeakAfterGcBytes");
      Double hp = p == null ? null : p.aux.get("heapPeakAfterGcBytes");
      if (ho == null || hp == null) {
        verdict(null, what, "not measured");
      } else {
        double extra = ho - hp;
        verdict(
            extra <= 16 * 1024 * 1024,
            what,
            String.format(
                Locale.ROOT,
                "%s after GC vs %s plain (%+.1f MiB)",
                mib(ho),
                mib(hp),
                extra / 1048576.0));
      }
    }
    for (String op : new String[] {"Insert", "Select"}) {
      Row o = find("JdbcBenchmark", "encrypted" + op, null, null);
      Row p = find("JdbcBenchmark", "plain" + op, null, null);
      check("JDBC batch " + lc(op) + " of 1,000 rows ≥ 0.8× plaintext", o, p, 0.8);
    }
    line();
    line(
        String.format(
            Locale.ROOT,
            "**%d PASS, %d MISS, %d NOT RUN.** A ratio is of medians; where the noise columns"
                + " below show a wide spread, a ratio within a few percent of its threshold is not"
                + " conclusive.",
            pass,
            miss,
            notRun));
    line();
  }

  private void check(String what, Row num, Row den, double threshold) {
    if (num == null || den == null || !(den.median > 0)) {
      verdict(null, what, "not run");
      return;
    }
    double r = num.median / den.median;
    verdict(
        r >= threshold,
        what,
        String.format(
            Locale.ROOT, "%.2f× (%s vs %s %s)", r, fmt(num.median), fmt(den.median), den.unit));
  }

  private void verdict(Boolean ok, String what, String detail) {
    String tag;
    if (ok == null) {
      tag = "NOT RUN";
      notRun++;
    } else if (ok) {
      tag = "PASS";
      pass++;
    } else {
      tag = "MISS";
      miss++;
    }
    line("- **" + tag + "** " + what + ": " + detail);
  }

  private void throughputSection() {
    line("## Throughput, one thread, KMS latency 0 ms (warm caches)");
    line();
    line(
        "ops/s and MB/s are medians; *vs ours* is panops-crypto `byte[]` ÷ this row (above 1: ours"
            + " is faster). B/op is allocation per operation (`-prof gc`), KMS/op the fake KMS's"
            + " calls per operation during warm-up and measurement.");
    line();
    for (int size : SIZES) {
      if (envelopeRows(size, 1, 0).isEmpty()) {
        continue;
      }
      line("### " + size(size));
      line();
      line("| Implementation | Op | ops/s | MB/s | noise | B/op | KMS/op | vs ours |");
      line("|---|---|---:|---:|---|---:|---:|---:|");
      for (String impl : IMPLS) {
        for (String op : new String[] {"Encrypt", "Decrypt"}) {
          Row r = envelope(impl + op, size, 1, 0);
          if (r == null) {
            continue;
          }
          Row ours = envelope("ours" + op, size, 1, 0);
          line(
              "| "
                  + IMPL_NAMES.get(impl)
                  + " | "
                  + lc(op)
                  + " | "
                  + fmt(r.median)
                  + " | "
                  + fmt(r.median * size / 1e6)
                  + " | "
                  + noise(r)
                  + " | "
                  + (r.allocPerOp == null ? "–" : fmt(r.allocPerOp))
                  + " | "
                  + kms(r)
                  + " | "
                  + (ours == null ? "–" : ratio(ours.median / r.median))
                  + " |");
        }
      }
      line();
    }
  }

  private List<Row> envelopeRows(int size, int threads, int latency) {
    return select(
        r ->
            r.cls.equals("EnvelopeBenchmark")
                && r.threads == threads
                && r.intParam("payloadSize") == size
                && r.intParam("kmsLatencyMs") == latency);
  }

  private void threadsSection() {
    List<Row> two = select(r -> r.cls.equals("EnvelopeBenchmark") && r.threads == 2);
    if (two.isEmpty()) {
      return;
    }
    line("## Two threads versus one (KMS latency 0 ms)");
    line();
    line(
        "| Implementation | Op | Payload | 1 thread ops/s | 2 threads ops/s | 2 threads ÷ 1 | noise (2 threads) |");
    line("|---|---|---|---:|---:|---:|---|");
    for (String impl : IMPLS) {
      for (String op : new String[] {"Encrypt", "Decrypt"}) {
        for (int size : SIZES) {
          Row t2 = envelope(impl + op, size, 2, 0);
          Row t1 = envelope(impl + op, size, 1, 0);
          if (t2 == null) {
            continue;
          }
          line(
              "| "
                  + IMPL_NAMES.get(impl)
                  + " | "
                  + lc(op)
                  + " | "
                  + size(size)
                  + " | "
                  + (t1 == null ? "–" : fmt(t1.median))
                  + " | "
                  + fmt(t2.median)
                  + " | "
                  + (t1 == null ? "–" : ratio(t2.median / t1.median))
                  + " | "
                  + noise(t2)
                  + " |");
        }
      }
    }
    line();
  }

  private void latencySection() {
    List<Row> slow =
        select(r -> r.cls.equals("EnvelopeBenchmark") && r.intParam("kmsLatencyMs") == 5);
    if (slow.isEmpty()) {
      return;
    }
    line("## KMS latency 5 ms versus 0 ms (one thread)");
    line();
    line(
        "A warm cache makes KMS latency invisible; an implementation that calls KMS per message"
            + " pays it on every message.");
    line();
    line(
        "| Implementation | Op | Payload | 0 ms ops/s | 5 ms ops/s | 5 ms ÷ 0 ms | KMS/op (5 ms) | noise (5 ms) |");
    line("|---|---|---|---:|---:|---:|---:|---|");
    for (String impl : IMPLS) {
      for (String op : new String[] {"Encrypt", "Decrypt"}) {
        for (int size : SIZES) {
          Row s = envelope(impl + op, size, 1, 5);
          if (s == null) {
            continue;
          }
          Row f = envelope(impl + op, size, 1, 0);
          line(
              "| "
                  + IMPL_NAMES.get(impl)
                  + " | "
                  + lc(op)
                  + " | "
                  + size(size)
                  + " | "
                  + (f == null ? "–" : fmt(f.median))
                  + " | "
                  + fmt(s.median)
                  + " | "
                  + (f == null ? "–" : ratio(s.median / f.median))
                  + " | "
                  + kms(s)
                  + " | "
                  + noise(s)
                  + " |");
        }
      }
    }
    line();
  }

  private void killSwitchSection() {
    List<Row> ks = select(r -> r.cls.equals("KillSwitchBenchmark"));
    if (ks.isEmpty()) {
      return;
    }
    line("## Kill switch: liveness probe every 1 s versus off (1 KiB, one thread)");
    line();
    line("| Op | probe off ops/s | probe 1 s ops/s | on ÷ off | KMS/op (probe on) | noise (on) |");
    line("|---|---:|---:|---:|---:|---|");
    for (String op : new String[] {"Encrypt", "Decrypt"}) {
      Row off = find("KillSwitchBenchmark", "ours" + op, "probe", "off");
      Row on = find("KillSwitchBenchmark", "ours" + op, "probe", "1s");
      if (off == null || on == null) {
        continue;
      }
      line(
          "| "
              + lc(op)
              + " | "
              + fmt(off.median)
              + " | "
              + fmt(on.median)
              + " | "
              + ratio(on.median / off.median)
              + " | "
              + kms(on)
              + " | "
              + noise(on)
              + " |");
    }
    line();
  }

  private void coldStartSection() {
    List<Row> cs = select(r -> r.cls.equals("ColdStartBenchmark"));
    if (cs.isEmpty()) {
      return;
    }
    line("## Cold start: first encryption and first decryption (cache miss), 1 KiB");
    line();
    line(
        "Each measured call is the first on a newly built instance (building it is not timed);"
            + " a decryption's ciphertext comes from another instance. *Cold JVM*: one call per"
            + " fresh JVM (class loading and interpreter included). *Warm JVM*: many fresh"
            + " instances in one warmed JVM, i.e. the cost of a data-key cache miss.");
    line();
    line(
        "| Implementation | Op | JVM | KMS latency | median ms | min–max ms | samples | KMS calls/op |");
    line("|---|---|---|---:|---:|---|---:|---:|");
    for (String impl : IMPLS) {
      for (String op : new String[] {"Encrypt", "Decrypt"}) {
        for (Row r : cs) {
          if (!r.method.equals(impl + op)) {
            continue;
          }
          boolean coldJvm = r.warmupIterations == 0;
          double scale = msScale(r.unit);
          line(
              "| "
                  + IMPL_NAMES.get(impl)
                  + " | "
                  + lc(op)
                  + " | "
                  + (coldJvm ? "cold" : "warm")
                  + " | "
                  + r.param("kmsLatencyMs")
                  + " ms | "
                  + fmt(r.median * scale)
                  + " | "
                  + fmt(r.min * scale)
                  + "–"
                  + fmt(r.max * scale)
                  + " | "
                  + samples(r)
                  + " | "
                  + kms(r)
                  + " |");
        }
      }
    }
    line();
  }

  private static int samples(Row r) {
    return r.raw.path("forks").asInt(1) * r.iterations;
  }

  private static double msScale(String unit) {
    switch (unit) {
      case "us/op":
        return 1e-3;
      case "ns/op":
        return 1e-6;
      case "s/op":
        return 1e3;
      default:
        return 1;
    }
  }

  private void s3Section() {
    List<Row> s3 = select(r -> r.cls.equals("S3Benchmark"));
    if (s3.isEmpty()) {
      return;
    }
    line("## S3 adapter versus plain `S3Client` (local S3Mock, one thread)");
    line();
    line(
        "Peak heap is above the baseline after set-up: *sampled* is heap used sampled every 5 ms"
            + " (garbage included), *after GC* the largest heap still in use right after a"
            + " collection (close to what the client holds on to).");
    line();
    line(
        "| Object | Op | Client | MB/s | panops ÷ plain | noise (MB/s) | B/op | peak heap sampled | peak heap after GC | KMS/op |");
    line("|---|---|---|---:|---:|---|---:|---:|---:|---:|");
    for (String size : new String[] {"1048576", "67108864"}) {
      for (String op : new String[] {"Put", "Get"}) {
        Row p = find("S3Benchmark", "plain" + op, "objectSize", size);
        Row o = find("S3Benchmark", "panops" + op, "objectSize", size);
        double bytes = Double.parseDouble(size);
        for (Row r : new Row[] {p, o}) {
          if (r == null) {
            continue;
          }
          line(
              "| "
                  + size(Integer.parseInt(size))
                  + " | "
                  + lc(op)
                  + " | "
                  + (r == p ? "plain" : "panops")
                  + " | "
                  + fmt(r.median * bytes / 1e6)
                  + " | "
                  + (r == o && p != null ? ratio(o.median / p.median) : "")
                  + " | "
                  + noise(r, bytes / 1e6)
                  + " | "
                  + (r.allocPerOp == null ? "–" : fmt(r.allocPerOp))
                  + " | "
                  + mib(r.aux.get("heapPeakUsedBytes"))
                  + " | "
                  + mib(r.aux.get("heapPeakAfterGcBytes"))
                  + " | "
                  + kms(r)
                  + " |");
        }
      }
    }
    line();
  }

  private void jdbcSection() {
    List<Row> j = select(r -> r.cls.equals("JdbcBenchmark"));
    if (j.isEmpty()) {
      return;
    }
    line("## JDBC adapter versus plaintext JDBC (embedded PostgreSQL 16, TLS, one thread)");
    line();
    line(
        "One operation is 1,000 rows: a batch insert in one transaction, or a select of all rows"
            + " reading both columns (decrypting them in the encrypted case).");
    line();
    line(
        "| Op | plaintext rows/s | encrypted rows/s | encrypted ÷ plaintext | noise (encrypted, rows/s) | KMS/op |");
    line("|---|---:|---:|---:|---|---:|");
    for (String op : new String[] {"Insert", "Select"}) {
      Row p = find("JdbcBenchmark", "plain" + op, null, null);
      Row o = find("JdbcBenchmark", "encrypted" + op, null, null);
      if (p == null || o == null) {
        continue;
      }
      line(
          "| "
              + lc(op)
              + " | "
              + fmt(p.median * 1000)
              + " | "
              + fmt(o.median * 1000)
              + " | "
              + ratio(o.median / p.median)
              + " | "
              + noise(o, 1000)
              + " | "
              + kms(o)
              + " |");
    }
    line();
  }

  private void noiseSection() {
    line("## How noisy the run was");
    line();
    List<Double> errs = new ArrayList<>();
    Row worst = null;
    for (Row r : rows) {
      double e = r.relError();
      if (!Double.isNaN(e) && !r.mode.equals("ss")) {
        errs.add(e);
        if (worst == null || e > worst.relError()) {
          worst = r;
        }
      }
    }
    if (errs.isEmpty()) {
      line("No result has an error estimate (fewer than 2 iterations).");
      line();
      return;
    }
    errs.sort(null);
    double med = errs.get(errs.size() / 2);
    long over5 = errs.stream().filter(e -> e > 0.05).count();
    line(
        String.format(
            Locale.ROOT,
            "Throughput results: %d; median score error ±%.1f%%; %d above ±5%%; the worst ±%.1f%%"
                + " (%s.%s %s, %d thread(s)). Load average before / after the run: %s / %s.",
            errs.size(),
            med * 100,
            over5,
            worst.relError() * 100,
            worst.cls,
            worst.method,
            worst.params,
            worst.threads,
            machine.getProperty("load.before", "?"),
            machine.getProperty("load.after", "?")));
    line();
  }

  // ------------------------------------------------------------------ formatting

  private static String noise(Row r) {
    return noise(r, 1);
  }

  /** The relative error, and the min–max of the iterations multiplied by {@code scale}. */
  private static String noise(Row r, double scale) {
    String e =
        Double.isNaN(r.relError())
            ? "±?"
            : String.format(Locale.ROOT, "±%.1f%%", r.relError() * 100);
    return e + " (" + fmt(r.min * scale) + "–" + fmt(r.max * scale) + ")";
  }

  private static String kms(Row r) {
    Double k = r.kmsPerOp();
    if (k == null) {
      return "–";
    }
    if (k == 0) {
      return "0";
    }
    if (k >= 0.01) {
      return String.format(Locale.ROOT, "%.2f", k);
    }
    return String.format(Locale.ROOT, "%.1e", k);
  }

  static String fmt(double v) {
    if (Double.isNaN(v)) {
      return "–";
    }
    double a = Math.abs(v);
    if (a >= 100) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    return String.format(Locale.ROOT, "%.2f", v);
  }

  private static String ratio(double r) {
    return Double.isNaN(r) || Double.isInfinite(r) ? "–" : String.format(Locale.ROOT, "%.2f×", r);
  }

  private static String mib(Double bytes) {
    return bytes == null ? "–" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }

  static String size(int bytes) {
    if (bytes >= 1048576 && bytes % 1048576 == 0) {
      return bytes / 1048576 + " MiB";
    }
    if (bytes >= 1024 && bytes % 1024 == 0) {
      return bytes / 1024 + " KiB";
    }
    return bytes + " B";
  }

  private static String lc(String op) {
    return op.toLowerCase(Locale.ROOT);
  }

  private void kv(String k, String v) {
    line("| " + k + " | " + v.replace("|", "\\|") + " |");
  }

  private void line(String s) {
    out.append(s).append('\n');
  }

  private void line() {
    out.append('\n');
  }
}
