package com.panops.crypto.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * CI does not run the benchmarks; this proves they start: one tiny measured iteration of one
 * benchmark, in this JVM (no fork), through JMH's Runner API.
 */
class BenchmarksStartTest {
  @TempDir Path tmp;

  @Test
  void oneTinyIterationOfTheWarmPathRuns() throws Exception {
    Path aux = tmp.resolve("aux.jsonl");
    System.setProperty(AuxLog.PROPERTY, aux.toString());
    // a benchmark run elsewhere on the machine holds JMH's lock file; this run measures nothing
    System.setProperty("jmh.ignoreLock", "true");
    try {
      Options opts =
          new OptionsBuilder()
              .include(EnvelopeBenchmark.class.getName() + ".oursEncrypt$")
              .param("payloadSize", "1024")
              .param("kmsLatencyMs", "0")
              .forks(0)
              .threads(1)
              .warmupIterations(0)
              .measurementIterations(1)
              .measurementTime(TimeValue.milliseconds(200))
              .shouldFailOnError(true)
              .build();
      Collection<RunResult> results = new Runner(opts).run();
      assertEquals(1, results.size());
      double score = results.iterator().next().getPrimaryResult().getScore();
      assertTrue(score > 0, "ops/s " + score);
      String line = Files.readString(aux);
      assertTrue(line.contains("\"kmsCalls\":0"), line); // the warm path calls KMS never
    } finally {
      System.clearProperty(AuxLog.PROPERTY);
      System.clearProperty("jmh.ignoreLock");
    }
  }
}
