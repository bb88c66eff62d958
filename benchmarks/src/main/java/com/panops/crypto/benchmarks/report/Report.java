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
    "ours",
    "oursStream",
    "rawGcm",
    "esdkCaching",
    "esdkCaching64k",
    "esdkStream",
    "esdkKeyring",
    "tink"
  };
  static final Map<String, String> IMPL_NAMES = new LinkedHashMap<>();

  static {
    IMPL_NAMES.put("ours", "panops-crypto `byte[]`");
    IMPL_NAMES.put("oursStream", "panops-crypto streams");
    IMPL_NAMES.put("rawGcm", "raw JDK AES-GCM (ceiling)");
    IMPL_NAMES.put("esdkCaching", "AWS ESDK 3.x caching CMM (4 KiB frames, its default)");
    IMPL_NAMES.put("esdkCaching64k", "AWS ESDK 3.x caching CMM, 64 KiB frames");
    IMPL_NAMES.put("esdkStream", "AWS ESDK 3.x streaming API, caching CMM, 64 KiB frames");
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

    double[] forks() {
      return Stats.forkScores(raw);
    }

    /** Largest spread of the measured iterations within one fork (warm-up check). */
    double spread() {
      return Stats.worstForkSpread(raw);
    }

    Double kmsPerOp() {
      Double calls = aux.get("kmsCalls");
      Double ops = aux.get("ops");
      return calls == null || ops == null || ops == 0 ? null : calls / ops;
    }
  }

  private final List<Row> rows = new ArrayList<>();
  private final Map<String, Integer> auxLines = new LinkedHashMap<>();
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
        "wrote "
            + target
            + ": "
            + r.pass
            + " PASS, "
            + r.miss
            + " MISS, "
            + r.unresolved
            + " NOT RESOLVED, "
            + r.notRun
            + " NOT RUN; "
            + (r.problems().isEmpty() ? "valid run" : "INVALID RUN: " + r.problems()));
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
      Path auxFile = dir.resolve(dataset + ".aux.jsonl");
      Map<String, Map<String, Double>> aux = readAux(json, auxFile);
      if (Files.exists(auxFile)) {
        r.auxLines.put(
            dataset,
            (int)
                Files.readAllLines(auxFile, StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isBlank())
                    .count());
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
      // one record per fork: counters add up, everything else (heap, probe lag) keeps the worst
      m.merge(
          auxKey(
              n.path("benchmark").asText(),
              n.path("mode").asText(),
              n.path("threads").asInt(),
              params),
          values,
          Report::mergeForks);
    }
    return m;
  }

  /** Aux values that count something over a fork; summed over the forks. */
  private static final java.util.Set<String> COUNTERS =
      java.util.Set.of(
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

  private static Map<String, Double> mergeForks(Map<String, Double> a, Map<String, Double> b) {
    Map<String, Double> m = new LinkedHashMap<>(a);
    b.forEach((k, v) -> m.merge(k, v, COUNTERS.contains(k) ? Double::sum : Math::max));
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
    unresolved = 0;
    line("# Benchmark results");
    line();
    line(
        "Generated by `benchmarks/run-all.sh` (JMH "
            + jmhVersion()
            + "); how to read it: `benchmarks/README.md`. "
            + "Figures are **medians** of the measurement iterations; *noise* is JMH's 99.9% "
            + "score error as a percentage of the score, and the min–max of the iterations. "
            + "MB/s are 10^6 bytes of plaintext per second. Every ratio is of two results of"
            + " this run, with its 95% confidence interval in brackets (from the per-fork scores,"
            + " see `Stats`), and *not resolved* where the interval contains 1.0.");
    line();
    machineSection();
    StringBuilder body = new StringBuilder();
    StringBuilder saved = new StringBuilder(out);
    out.setLength(0);
    validitySection();
    throughputSection();
    threadsSection();
    latencySection();
    killSwitchSection();
    manyTenantsSection();
    tailLatencySection();
    rollSection();
    coldStartSection();
    s3Section();
    jdbcSection();
    noiseSection();
    body.append(out);
    out.setLength(0);
    claimsSection();
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

  // ------------------------------------------------------------------ validity (no splicing)

  /** Why this run's figures cannot carry claims; empty if none. */
  List<String> problems() {
    List<String> p = new ArrayList<>();
    String run = machine.getProperty("run.id");
    if (run == null) {
      p.add("no run id in machine.properties (not written by run-all.sh)");
    }
    TreeSet<String> datasets = new TreeSet<>();
    for (Row r : rows) {
      datasets.add(r.dataset);
    }
    for (String d : datasets) {
      String dr = machine.getProperty("dataset." + d);
      if (run != null && !run.equals(dr)) {
        p.add("`" + d + "` is not from this run (run " + dr + ", report " + run + "): spliced");
      }
      String invalid = machine.getProperty("invalid." + d);
      if (invalid != null) {
        p.add("`" + d + "` was measured on a busy machine: " + invalid);
      }
      long expected = 0;
      for (Row r : rows) {
        if (r.dataset.equals(d)) {
          expected += r.raw.path("forks").asInt(1);
        }
      }
      Integer aux = auxLines.get(d);
      if (aux != null && aux != expected) {
        p.add(
            "`"
                + d
                + "`: "
                + aux
                + " aux records for "
                + expected
                + " forks (rows added or re-run after the fact)");
      }
    }
    return p;
  }

  private void validitySection() {
    List<String> p = problems();
    line("## Validity of this run");
    line();
    line(
        "Load average threshold: 1-minute load ≤ "
            + machine.getProperty("load.threshold", "?")
            + " before each benchmark (run-all.sh waits for it, then refuses or marks the set"
            + " invalid). Steady: every fork's measured iterations within 10% of their median.");
    line();
    if (p.isEmpty()) {
      line(
          "Every set is from run `"
              + machine.getProperty("run.id")
              + "`, below the load threshold, with one aux record per fork.");
    } else {
      line("**This run cannot carry claims:**");
      line();
      for (String x : p) {
        line("- " + x);
      }
    }
    line();
    List<Row> unsteady = select(r -> !r.mode.equals("ss") && r.spread() > 0.10);
    line(
        String.format(
            Locale.ROOT,
            "Results whose iterations within a fork spread more than 10%% (not warm or noisy): %d"
                + " of %d.",
            unsteady.size(),
            select(r -> !r.mode.equals("ss")).size()));
    line();
    if (!unsteady.isEmpty()) {
      for (Row r : unsteady) {
        line(
            String.format(
                Locale.ROOT,
                "- `%s` %s.%s %s, %d thread(s): %.0f%%",
                r.dataset,
                r.cls,
                r.method,
                r.params,
                r.threads,
                r.spread() * 100));
      }
      line();
    }
  }

  // ------------------------------------------------------------------ claims (issue 15)

  /** A ratio of two results with its interval (see {@link Stats}). */
  static Stats.Ratio ratioOf(Row num, Row den) {
    if (num == null || den == null) {
      return new Stats.Ratio(Double.NaN, Double.NaN, Double.NaN);
    }
    return Stats.ratio(num.forks(), den.forks());
  }

  static String ci(Row num, Row den) {
    return ratioOf(num, den).format();
  }

  private void claimsSection() {
    boolean valid = problems().isEmpty();
    line("## Claims and targets (issue 15)");
    line();
    line(
        "Each target with the measured ratio and its 95% confidence interval from the per-fork"
            + " scores (`Stats`: Welch's t on the logarithms of the fork means). **PASS**: the"
            + " whole interval meets the target; **MISS**: the whole interval misses it; **NOT"
            + " RESOLVED**: the interval straddles the target, there are fewer than 2 forks, a"
            + " result is not steady, or the run is invalid.");
    line();
    line("| Claim | Target | Measured | Verdict |");
    line("|---|---|---|---|");
    for (String op : new String[] {"Encrypt", "Decrypt"}) {
      for (String peer : new String[] {"esdkCaching", "esdkCaching64k"}) {
        claim(
            "1 KiB cached " + lc(op) + " vs " + IMPL_NAMES.get(peer),
            envelope("ours" + op, 1024, 1, 0),
            envelope(peer + op, 1024, 1, 0),
            8.0,
            true,
            valid);
      }
    }
    for (String op : new String[] {"Encrypt", "Decrypt"}) {
      claim(
          "1 KiB " + lc(op) + " vs raw AES-GCM",
          envelope("ours" + op, 1024, 1, 0),
          envelope("rawGcm" + op, 1024, 1, 0),
          0.8,
          true,
          valid);
    }
    for (int size : new int[] {65536, 1048576}) {
      for (String op : new String[] {"Encrypt", "Decrypt"}) {
        claim(
            size(size) + " " + lc(op) + " vs raw AES-GCM, after warm-up",
            envelope("ours" + op, size, 1, 0),
            envelope("rawGcm" + op, size, 1, 0),
            0.9,
            true,
            valid);
      }
    }
    for (String ms : new String[] {"0", "5"}) {
      claim(
          "many tenants (10,000, Zipf s=1, capacity 2,000), KMS "
              + ms
              + " ms, vs the ESDK caching CMM",
          manyTenants("ours", ms),
          manyTenants("esdkCaching", ms),
          5.0,
          true,
          valid);
    }
    probeLagClaim(valid);
    for (String op : new String[] {"Encrypt", "Decrypt"}) {
      Row r = find("TailLatencyBenchmark", "ours" + op, null, null);
      String what = "p99.9 ÷ p50 of warm 1 KiB " + lc(op) + " across data-key expiry, 5 ms KMS";
      if (r == null) {
        line("| " + what + " | ≤ 2× | – | NOT RUN |");
        continue;
      }
      double[] p50 = Stats.forkPercentiles(r.raw, 0.5);
      double[] p999 = Stats.forkPercentiles(r.raw, 0.999);
      double[] q = new double[Math.min(p50.length, p999.length)];
      for (int i = 0; i < q.length; i++) {
        q[i] = p999[i] / p50[i];
      }
      Stats.Ratio m = Stats.mean(q, true);
      String verdict;
      if (!valid || !m.hasInterval()) {
        verdict = "NOT RESOLVED";
      } else if (m.hi() <= 2.0) {
        verdict = "PASS";
      } else if (m.lo() > 2.0) {
        verdict = "MISS";
      } else {
        verdict = "NOT RESOLVED";
      }
      count(verdict);
      line(
          "| "
              + what
              + " (mean of per-fork ratios) | ≤ 2× | "
              + m.format()
              + " | "
              + verdict
              + " |");
    }
    for (String op : new String[] {"Encrypt", "Decrypt"}) {
      claim(
          "1 KiB " + lc(op) + ", warm: 5 ms KMS latency ÷ 0 ms",
          envelope("ours" + op, 1024, 1, 5),
          envelope("ours" + op, 1024, 1, 0),
          0.95,
          true,
          valid);
    }
    for (String size : new String[] {"1048576", "67108864"}) {
      for (String op : new String[] {"Put", "Get"}) {
        claim(
            "S3 " + lc(op) + " of " + size(Integer.parseInt(size)) + " vs plain `S3Client`",
            find("S3Benchmark", "panops" + op, "objectSize", size),
            find("S3Benchmark", "plain" + op, "objectSize", size),
            0.9,
            true,
            valid);
        claim(
            "S3 "
                + lc(op)
                + " of "
                + size(Integer.parseInt(size))
                + " vs the S3 Encryption Client 4.x (ahead)",
            find("S3Benchmark", "panops" + op, "objectSize", size),
            find("S3Benchmark", "s3ec" + op, "objectSize", size),
            1.0,
            false,
            valid);
      }
    }
    line();
    line(
        String.format(
            Locale.ROOT,
            "**%d PASS, %d MISS, %d NOT RESOLVED, %d NOT RUN.**",
            pass,
            miss,
            unresolved,
            notRun));
    line();
  }

  /**
   * The probe machinery keeps every active key within its interval: the largest probe lag any fork
   * sampled (10,000 keys, 5 s, 5 ms KMS) is at most the interval plus 100 ms (the probe's own round
   * trip and the scheduler's wake-up). A maximum has no interval: PASS or MISS on the worst fork.
   */
  private void probeLagClaim(boolean valid) {
    Row probe = manyTenants("ours+probe");
    Double max = probe == null ? null : probe.aux.get("probeLagMaxMs");
    Double probed = probe == null ? null : probe.aux.get("keysProbed");
    String what =
        "probe lag, max over every key in use (of 10,000 CMKs: "
            + (probed == null ? "–" : fmt(probed))
            + " used in a fork; every 5 s, 5 ms KMS)";
    if (max == null) {
      count("NOT RUN");
      line("| " + what + " | ≤ 5,100 ms | – | NOT RUN |");
      return;
    }
    String verdict = !valid ? "NOT RESOLVED" : max <= 5100 ? "PASS" : "MISS";
    count(verdict);
    line("| " + what + " | ≤ 5,100 ms | " + fmt(max) + " ms (worst fork) | " + verdict + " |");
  }

  private int unresolved;

  private void count(String verdict) {
    switch (verdict) {
      case "PASS" -> pass++;
      case "MISS" -> miss++;
      case "NOT RUN" -> notRun++;
      default -> unresolved++;
    }
  }

  /**
   * One claim row: {@code num ÷ den} against {@code threshold}; {@code atLeast}: the ratio must be
   * ≥ the threshold, else strictly above it.
   */
  private void claim(
      String what, Row num, Row den, double threshold, boolean atLeast, boolean valid) {
    String target = (atLeast ? "≥ " : "> ") + String.format(Locale.ROOT, "%.2f×", threshold);
    if (num == null || den == null) {
      count("NOT RUN");
      line("| " + what + " | " + target + " | – | NOT RUN |");
      return;
    }
    Stats.Ratio r = ratioOf(num, den);
    boolean steady = num.spread() <= 0.10 && den.spread() <= 0.10;
    String verdict;
    if (!valid || !steady || !r.hasInterval()) {
      verdict = "NOT RESOLVED";
    } else if (atLeast ? r.lo() >= threshold : r.lo() > threshold) {
      verdict = "PASS";
    } else if (atLeast ? r.hi() < threshold : r.hi() <= threshold) {
      verdict = "MISS";
    } else {
      verdict = "NOT RESOLVED";
    }
    count(verdict);
    String why = !valid ? " (invalid run)" : !steady ? " (not steady)" : "";
    line(
        "| "
            + what
            + " | "
            + target
            + " | "
            + r.format()
            + " ("
            + fmt(num.median)
            + " vs "
            + fmt(den.median)
            + " "
            + den.unit
            + ") | "
            + verdict
            + why
            + " |");
  }

  private Row manyTenants(String impl) {
    return manyTenants(impl, "5");
  }

  private Row manyTenants(String impl, String kmsLatencyMs) {
    for (Row r : rows) {
      if (r.cls.equals("ManyTenantsBenchmark")
          && impl.equals(r.param("impl"))
          && kmsLatencyMs.equals(r.param("kmsLatencyMs"))) {
        return r;
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ issue 15 sections

  private void manyTenantsSection() {
    List<Row> mt = select(r -> r.cls.equals("ManyTenantsBenchmark"));
    if (mt.isEmpty()) {
      return;
    }
    line("## Many tenants: Zipf over 10,000 CMKs, cache below the key count");
    line();
    line(
        "Half encryptions, half decryptions of 1 KiB; hit ratio = 1 − data-key KMS calls per"
            + " operation (KMS calls and operations summed over the forks); retained heap per"
            + " cached key = live heap with the cache full (after the run, every tenant encrypts"
            + " and decrypts once) minus live heap with the same instance built again empty (full"
            + " GCs), ÷ capacity; the largest of the forks. *vs ESDK* is this row ÷ the ESDK"
            + " caching CMM.");
    line();
    line(
        "| Implementation | tenants | capacity | KMS latency | ops/s | vs ESDK | hit ratio | KMS"
            + " calls/s | retained B per cached key | noise |");
    line("|---|---:|---:|---:|---:|---|---:|---:|---:|---|");
    for (Row r : mt) {
      Row esdk = manyTenants("esdkCaching", r.param("kmsLatencyMs"));
      Double calls = r.aux.get("dataKeyCalls");
      Double ops = r.aux.get("ops");
      Double nanos = r.aux.get("measuredNanos");
      String hit =
          calls == null || ops == null || ops == 0
              ? "–"
              : String.format(Locale.ROOT, "%.3f", 1 - calls / ops);
      String perSec =
          calls == null || nanos == null || nanos == 0 ? "–" : fmt(calls / (nanos / 1e9));
      Double heap = r.aux.get("retainedBytesPerCachedKey");
      line(
          "| "
              + r.param("impl")
              + " | "
              + r.param("tenants")
              + " | "
              + r.param("capacity")
              + " | "
              + r.param("kmsLatencyMs")
              + " ms | "
              + fmt(r.median)
              + " | "
              + (r == esdk ? "" : ci(r, esdk))
              + " | "
              + hit
              + " | "
              + perSec
              + " | "
              + (heap == null ? "–" : fmt(heap))
              + " | "
              + noise(r)
              + " |");
    }
    line();
    Row probe = manyTenants("ours+probe");
    if (probe != null && probe.aux.get("probeLagP50Ms") != null) {
      line(
          String.format(
              Locale.ROOT,
              "With probing (every 5 s, 5 ms KMS latency): probe lag (time since each key's last"
                  + " successful probe, sampled every 100 ms) p50 %s ms, p99 %s ms, max %s ms over"
                  + " %s keys probed; probes run on request threads: %s; requests whose key's last"
                  + " probe was older than two intervals (an upper bound of the requests that"
                  + " waited for a probe): %s of %s.",
              fmt(probe.aux.get("probeLagP50Ms")),
              fmt(probe.aux.get("probeLagP99Ms")),
              fmt(probe.aux.get("probeLagMaxMs")),
              fmt(probe.aux.getOrDefault("keysProbed", Double.NaN)),
              fmt(probe.aux.getOrDefault("probesOnRequestThreads", Double.NaN)),
              fmt(probe.aux.getOrDefault("requestsOnStaleKeys", Double.NaN)),
              fmt(probe.aux.getOrDefault("ops", Double.NaN))));
      line();
    }
  }

  private void tailLatencySection() {
    List<Row> tl = select(r -> r.cls.equals("TailLatencyBenchmark"));
    if (tl.isEmpty()) {
      return;
    }
    line("## Tail latency across data-key expiry (sample mode, 1 KiB, one thread)");
    line();
    line(
        "Data keys expire every `maxAgeMs`; KMS answers after `kmsLatencyMs`. Percentiles pool"
            + " every fork's samples; *> 1 ms* counts samples slower than 1 ms (a request that"
            + " waited for KMS); GenerateDataKey per second against 1 / age shows what refreshing"
            + " ahead costs in KMS calls.");
    line();
    line(
        "| Implementation | Op | age | KMS | p50 µs | p99 µs | p99.9 µs | max µs | > 1 ms |"
            + " GenerateDataKey/s | Decrypt/s | 1 / age |");
    line("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (Row r : tl) {
      JsonNode pct = r.raw.path("primaryMetric").path("scorePercentiles");
      double scale = r.unit.startsWith("ms") ? 1000 : r.unit.startsWith("ns") ? 0.001 : 1;
      Double nanos = r.aux.get("measuredNanos");
      double secs = nanos == null ? Double.NaN : nanos / 1e9;
      line(
          "| "
              + IMPL_NAMES.getOrDefault(
                  r.method.replace("Encrypt", "").replace("Decrypt", ""), r.method)
              + " | "
              + (r.method.endsWith("Encrypt") ? "encrypt" : "decrypt")
              + " | "
              + r.param("maxAgeMs")
              + " ms | "
              + r.param("kmsLatencyMs")
              + " ms | "
              + fmt(num(pct.path("50.0")) * scale)
              + " | "
              + fmt(num(pct.path("99.0")) * scale)
              + " | "
              + fmt(num(pct.path("99.9")) * scale)
              + " | "
              + fmt(num(pct.path("100.0")) * scale)
              + " | "
              + Stats.samplesAbove(r.raw, 1000 / scale)
              + " | "
              + fmt(r.aux.getOrDefault("kmsGenerateDataKey", Double.NaN) / secs)
              + " | "
              + fmt(r.aux.getOrDefault("kmsDecrypt", Double.NaN) / secs)
              + " | "
              + fmt(1000.0 / Double.parseDouble(r.param("maxAgeMs")))
              + " |");
    }
    line();
  }

  private void rollSection() {
    List<Row> rl = select(r -> r.cls.equals("RollBenchmark"));
    if (rl.isEmpty()) {
      return;
    }
    line("## Miss path: keys rolling by message limit, threads contending (1 KiB encrypt)");
    line();
    line(
        "Single flight holds if messages per GenerateDataKey ≈ the message limit (a key is"
            + " loaded once, by one thread, however many threads find it spent).");
    line();
    line(
        "| Implementation | threads | limit | KMS | ops/s | GenerateDataKeys | messages per"
            + " GenerateDataKey | noise |");
    line("|---|---:|---:|---:|---:|---:|---:|---|");
    for (Row r : rl) {
      Double g = r.aux.get("kmsGenerateDataKey");
      Double ops = r.aux.get("ops");
      line(
          "| "
              + IMPL_NAMES.getOrDefault(r.method.replace("Encrypt", ""), r.method)
              + " | "
              + r.threads
              + " | "
              + r.param("maxMessages")
              + " | "
              + r.param("kmsLatencyMs")
              + " ms | "
              + fmt(r.median)
              + " | "
              + (g == null ? "–" : fmt(g))
              + " | "
              + (g == null || ops == null || g == 0 ? "–" : fmt(ops / g))
              + " | "
              + noise(r)
              + " |");
    }
    line();
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
                  + (ours == null ? "–" : ci(ours, r))
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
                  + (t1 == null ? "–" : ci(t2, t1))
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
                  + (f == null ? "–" : ci(s, f))
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
              + ci(on, off)
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
        "| Object | Op | Client | MB/s | ÷ plain (95% CI) | noise (MB/s) | B/op | peak heap sampled | peak heap after GC | KMS/op |");
    line("|---|---|---|---:|---:|---|---:|---:|---:|---:|");
    for (String size : new String[] {"1048576", "67108864"}) {
      for (String op : new String[] {"Put", "Get"}) {
        Row p = find("S3Benchmark", "plain" + op, "objectSize", size);
        Row o = find("S3Benchmark", "panops" + op, "objectSize", size);
        Row e = find("S3Benchmark", "s3ec" + op, "objectSize", size);
        double bytes = Double.parseDouble(size);
        for (Row r : new Row[] {p, o, e}) {
          if (r == null) {
            continue;
          }
          line(
              "| "
                  + size(Integer.parseInt(size))
                  + " | "
                  + lc(op)
                  + " | "
                  + (r == p ? "plain" : r == o ? "panops" : "S3 Encryption Client 4.x")
                  + " | "
                  + fmt(r.median * bytes / 1e6)
                  + " | "
                  + (r != p && p != null ? ci(r, p) : "")
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
              + ci(o, p)
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
