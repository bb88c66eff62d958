package com.panops.crypto.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The renderer on a small fixture: 1 KiB, one thread, ours, raw GCM and the ESDK caching CMM. */
class ReportTest {
  @TempDir Path dir;

  private String render() throws IOException {
    for (String f :
        new String[] {"envelope-t1.json", "envelope-t1.aux.jsonl", "machine.properties"}) {
      try (InputStream in = ReportTest.class.getResourceAsStream("/report/" + f)) {
        Files.copy(in, dir.resolve(f));
      }
    }
    Path md = dir.resolve("RESULTS.md");
    Report.main(new String[] {dir.toString(), md.toString()});
    return Files.readString(md);
  }

  @Test
  void showsTargetsAsPassMissOrNotRun() throws IOException {
    String md = render();
    // 250,000 / 25,000 = 10x: pass; 200,000 / 40,000 = 5x: miss
    assertTrue(
        md.contains("- **PASS** 1 KiB cached encrypt ≥ 8× the ESDK caching CMM: 10.00×"), md);
    assertTrue(md.contains("- **MISS** 1 KiB cached decrypt ≥ 8× the ESDK caching CMM: 5.00×"), md);
    // 250,000 / 600,000 = 0.42: miss; 200,000 / 500,000 = 0.40: miss
    assertTrue(md.contains("- **MISS** 1 KiB encrypt ≥ 0.5× raw GCM: 0.42×"), md);
    // 1,400 B for 1,024 B of payload: within payload + 512
    assertTrue(
        md.contains("- **PASS** 1 KiB `byte[]` encrypt allocates ≤ payload + 512 B: 1,400 B/op"),
        md);
    assertTrue(md.contains("- **MISS** 1 KiB `byte[]` decrypt allocates ≤ payload + 512 B"), md);
    assertTrue(md.contains("- **NOT RUN** JDBC batch insert of 1,000 rows ≥ 0.8× plaintext"), md);
    assertTrue(md.contains("**2 PASS, 4 MISS, 28 NOT RUN.**"), md);
  }

  @Test
  void showsMachineMediansRatiosNoiseAndKmsCalls() throws IOException {
    String md = render();
    assertTrue(md.contains("| CPU | Test CPU @ 3.0GHz |"), md);
    assertTrue(md.contains("| Cores (`nproc`) | 2 |"), md);
    assertTrue(
        md.contains("| Load average before / after | 0.10 0.20 0.30 / 1.90 1.50 1.00 |"), md);
    // the 1 KiB table: ours 250,000 ops/s = 256 MB/s, ±2% noise, 0 KMS calls, ratio 1
    assertTrue(
        md.contains(
            "| panops-crypto `byte[]` | encrypt | 250,000 | 256 | ±2.0% (242,500–257,500) | 1,400 | 0 | 1.00× |"),
        md);
    // the ESDK: 2 GenerateDataKey calls in 200,000 operations; ours is 10x faster
    assertTrue(
        md.contains(
            "| AWS ESDK 3.x caching CMM | encrypt | 25,000 | 25.6 | ±2.0% (24,250–25,750) | – | 1.0e-05 | 10.00× |"),
        md);
    assertTrue(md.contains("median score error ±2.0%"), md);
  }

  @Test
  void formatsSizesAndNumbers() {
    assertEquals("64 B", Report.size(64));
    assertEquals("64 KiB", Report.size(65536));
    assertEquals("1 MiB", Report.size(1048576));
    assertEquals("1,235", Report.fmt(1234.6));
    assertEquals("12.3", Report.fmt(12.34));
    assertEquals("0.12", Report.fmt(0.123));
  }
}
