package com.panops.crypto.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The renderer: the old one-fork fixture (medians, noise, KMS calls; no interval), and generated
 * three-fork runs for the protocol: intervals, verdicts, and refusal of spliced or busy runs.
 */
class ReportTest {
  @TempDir Path dir;

  private String renderFixture() throws IOException {
    for (String f :
        new String[] {"envelope-t1.json", "envelope-t1.aux.jsonl", "machine.properties"}) {
      try (InputStream in = ReportTest.class.getResourceAsStream("/report/" + f)) {
        Files.copy(in, dir.resolve(f));
      }
    }
    return render();
  }

  private String render() throws IOException {
    Path md = dir.resolve("RESULTS.md");
    Report.main(new String[] {dir.toString(), md.toString()});
    return Files.readString(md);
  }

  /** One JMH result: {@code forks} rows of iteration scores. */
  static Map<String, Object> result(String method, int size, double[][] forks) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("jmhVersion", "1.37");
    m.put("benchmark", "com.panops.crypto.benchmarks.EnvelopeBenchmark." + method);
    m.put("mode", "thrpt");
    m.put("threads", 1);
    m.put("forks", forks.length);
    m.put("jvmArgs", List.of("-Xms2g"));
    m.put("warmupIterations", 4);
    m.put("warmupTime", "2 s");
    m.put("measurementIterations", forks[0].length);
    m.put("measurementTime", "2 s");
    m.put("params", Map.of("payloadSize", Integer.toString(size), "kmsLatencyMs", "0"));
    List<Double> all = new ArrayList<>();
    for (double[] f : forks) {
      for (double v : f) {
        all.add(v);
      }
    }
    all.sort(null);
    double mean = all.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    Map<String, Object> pm = new LinkedHashMap<>();
    pm.put("score", mean);
    pm.put("scoreError", mean * 0.01);
    pm.put("scoreUnit", "ops/s");
    pm.put(
        "scorePercentiles",
        Map.of(
            "0.0", all.get(0), "50.0", all.get(all.size() / 2), "100.0", all.get(all.size() - 1)));
    pm.put("rawData", forks);
    m.put("primaryMetric", pm);
    m.put("secondaryMetrics", Map.of());
    return m;
  }

  static double[][] forks(double... means) {
    double[][] f = new double[means.length][];
    for (int i = 0; i < means.length; i++) {
      double m = means[i];
      f[i] = new double[] {m * 0.99, m, m * 1.01, m, m};
    }
    return f;
  }

  private void write(String dataset, List<Map<String, Object>> rows, String runOfSet, int aux)
      throws IOException {
    new ObjectMapper().writeValue(dir.resolve(dataset + ".json").toFile(), rows);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < aux; i++) {
      sb.append("{\"benchmark\":\"x\",\"mode\":\"thrpt\",\"threads\":1,\"params\":{},\"ops\":1}\n");
    }
    Files.writeString(dir.resolve(dataset + ".aux.jsonl"), sb.toString());
    Files.writeString(
        dir.resolve("machine.properties"),
        "run.id=R1\nload.threshold=0.5\ndataset." + dataset + "=" + runOfSet + "\n",
        java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
  }

  private List<Map<String, Object>> oneKib() {
    return List.of(
        // 10x the ESDK, tight: PASS against >= 8x
        result("oursEncrypt", 1024, forks(250_000, 252_000, 248_000)),
        result("esdkCachingEncrypt", 1024, forks(25_000, 25_300, 24_800)),
        // 5x: MISS against >= 8x
        result("oursDecrypt", 1024, forks(250_000, 251_000, 249_000)),
        result("esdkCachingDecrypt", 1024, forks(50_000, 50_500, 49_500)),
        // about 1x raw GCM with forks far apart: the interval straddles 0.8 -> NOT RESOLVED
        result("rawGcmDecrypt", 1024, forks(280_000, 180_000, 330_000)),
        // 0.5x raw GCM, tight: MISS against >= 0.8x
        result("rawGcmEncrypt", 1024, forks(500_000, 505_000, 495_000)));
  }

  @Test
  void claimsCarryIntervalsAndVerdicts() throws IOException {
    write("envelope-1k", oneKib(), "R1", 6 * 3);
    String md = render();
    assertTrue(md.contains("Every set is from run `R1`"), md);
    assertTrue(
        md.matches(
            "(?s).*\\| 1 KiB cached encrypt vs AWS ESDK 3.x caching CMM \\(4 KiB frames, its"
                + " default\\) \\| ≥ 8.00× \\| (9.9[0-9]|10.0[0-9])× \\[9\\.[0-9]+–10\\.[0-9]+\\][^\\n]*\\| PASS \\|.*"),
        md);
    assertTrue(
        md.matches(
            "(?s).*\\| 1 KiB cached decrypt vs AWS ESDK 3.x caching CMM \\(4 KiB[^\\n]*\\| MISS \\|.*"),
        md);
    assertTrue(md.matches("(?s).*\\| 1 KiB decrypt vs raw AES-GCM \\|[^\\n]*not resolved.*"), md);
    assertTrue(
        md.matches("(?s).*\\| 1 KiB decrypt vs raw AES-GCM \\|[^\\n]*\\| NOT RESOLVED \\|.*"), md);
    assertTrue(md.matches("(?s).*\\| 1 KiB encrypt vs raw AES-GCM \\|[^\\n]*\\| MISS \\|.*"), md);
    assertTrue(
        md.contains(
            "| 1 KiB cached encrypt vs AWS ESDK 3.x caching CMM, 64 KiB frames | ≥ 8.00× | – | NOT RUN |"),
        md);
  }

  @Test
  void aSplicedSetMakesTheRunInvalid_andResolvesNothing() throws IOException {
    write("envelope-1k", oneKib(), "R0", 18); // from another run
    String md = render();
    assertTrue(md.contains("**This run cannot carry claims:**"), md);
    assertTrue(md.contains("`envelope-1k` is not from this run (run R0, report R1): spliced"), md);
    assertFalse(md.contains("| PASS |"), md);
    assertTrue(md.contains("NOT RESOLVED (invalid run)"), md);
  }

  @Test
  void moreAuxRecordsThanForks_isDetected() throws IOException {
    write("envelope-1k", oneKib(), "R1", 20); // 18 forks ran; 2 records appended by a re-run
    String md = render();
    assertTrue(
        md.contains(
            "`envelope-1k`: 20 aux records for 18 forks (rows added or re-run after the fact)"),
        md);
    assertFalse(md.contains("| PASS |"), md);
  }

  @Test
  void aBusyMachineMakesTheRunInvalid() throws IOException {
    write("envelope-1k", oneKib(), "R1", 18);
    Files.writeString(
        dir.resolve("machine.properties"),
        "invalid.envelope-1k=1-minute load 1.9 > 0.5\n",
        java.nio.file.StandardOpenOption.APPEND);
    String md = render();
    assertTrue(md.contains("measured on a busy machine: 1-minute load 1.9 > 0.5"), md);
    assertFalse(md.contains("| PASS |"), md);
  }

  @Test
  void anUnsteadyResultResolvesNothing() throws IOException {
    List<Map<String, Object>> rows = new ArrayList<>(oneKib());
    double[][] warming = {
      {39, 117, 305, 500, 900}, {40, 120, 300, 600, 800}, {41, 110, 310, 550, 850}
    };
    rows.add(result("oursEncrypt", 1048576, forks(1500, 1510, 1490)));
    rows.add(result("rawGcmEncrypt", 1048576, warming));
    write("envelope-1k", rows, "R1", 8 * 3);
    String md = render();
    assertTrue(
        md.matches(
            "(?s).*\\| 1 MiB encrypt vs raw AES-GCM, after warm-up \\|[^\\n]*NOT RESOLVED \\(not steady\\).*"),
        md);
    assertTrue(md.contains("spread more than 10% (not warm or noisy): 1 of 8"), md);
  }

  @Test
  void theOldOneForkFixture_rendersWithoutIntervals() throws IOException {
    String md = renderFixture();
    assertTrue(md.contains("| CPU | Test CPU @ 3.0GHz |"), md);
    assertTrue(md.contains("no run id in machine.properties"), md);
    // ours 250,000 ops/s = 256 MB/s, ±2% noise, 0 KMS calls; one fork: no interval
    assertTrue(
        md.contains(
            "| panops-crypto `byte[]` | encrypt | 250,000 | 256 | ±2.0% (242,500–257,500) | 1,400 | 0 | 1.00× (no interval: < 2 forks; not resolved) |"),
        md);
    assertTrue(md.contains("median score error ±2.0%"), md);
  }

  @Test
  void welchIntervalOfARatio() {
    Stats.Ratio r = Stats.ratio(new double[] {10, 10.1, 9.9}, new double[] {5, 5.05, 4.95});
    assertEquals(2.0, r.value(), 1e-9);
    assertTrue(r.lo() < 2.0 && r.hi() > 2.0 && r.resolved(), r.toString());
    assertTrue(r.hi() - r.lo() < 0.1, r.toString());
    Stats.Ratio wide = Stats.ratio(new double[] {8, 12, 10}, new double[] {9, 11, 10});
    assertFalse(wide.resolved(), wide.toString());
    assertFalse(Stats.ratio(new double[] {10}, new double[] {5, 5}).hasInterval());
    assertEquals(4.303, Stats.t975(2), 1e-9);
    assertEquals(2.776, Stats.t975(4.7), 1e-9);
  }

  @Test
  void formatsSizesAndNumbers() {
    assertEquals("64 B", Cells.size(64));
    assertEquals("64 KiB", Cells.size(65536));
    assertEquals("1 MiB", Cells.size(1048576));
    assertEquals("1,235", Cells.fmt(1234.6));
    assertEquals("12.3", Cells.fmt(12.34));
    assertEquals("0.12", Cells.fmt(0.123));
  }
}
