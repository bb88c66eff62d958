package com.panops.crypto.benchmarks;

import com.panops.crypto.testkit.FakeKmsClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * What JMH does not measure itself: KMS calls per operation and peak heap, appended as one JSON
 * line per benchmark run (one fork of one method with one set of parameters) to the file named by
 * system property {@value #PROPERTY} (default {@code target/benchmark-aux.jsonl}). The report joins
 * these lines to JMH's JSON by benchmark, mode, threads and parameters.
 */
public final class AuxLog {
  public static final String PROPERTY = "panops.bench.aux";

  private AuxLog() {}

  /**
   * Counts a fake KMS's calls between {@link #mark()} and {@link #accumulate()}, over many spans.
   */
  public static final class KmsCalls {
    private final FakeKmsClient kms;
    private long g0;
    private long d0;
    private long e0;
    private long r0;
    public long generateDataKey;
    public long decrypt;
    public long encrypt;
    public long reEncrypt;

    public KmsCalls(FakeKmsClient kms) {
      this.kms = kms;
    }

    public void mark() {
      g0 = kms.generateDataKeyCalls.get();
      d0 = kms.decryptCalls.get();
      e0 = kms.encryptCalls.get();
      r0 = kms.reEncryptCalls.get();
    }

    public void accumulate() {
      generateDataKey += kms.generateDataKeyCalls.get() - g0;
      decrypt += kms.decryptCalls.get() - d0;
      encrypt += kms.encryptCalls.get() - e0;
      reEncrypt += kms.reEncryptCalls.get() - r0;
      mark();
    }

    public long total() {
      return generateDataKey + decrypt + encrypt + reEncrypt;
    }
  }

  /**
   * Appends one record: the run's identity from {@code params}, {@code ops} operations, the KMS
   * calls made during them (may be null), and {@code extra} numbers.
   */
  public static void write(
      BenchmarkParams params, long ops, KmsCalls calls, Map<String, ? extends Number> extra) {
    Map<String, Object> rec = new LinkedHashMap<>();
    rec.put("benchmark", params.getBenchmark());
    rec.put("mode", params.getMode().shortLabel());
    rec.put("threads", params.getThreads());
    Map<String, String> p = new TreeMap<>();
    for (String k : params.getParamsKeys()) {
      p.put(k, params.getParam(k));
    }
    rec.put("params", p);
    rec.put("ops", ops);
    if (calls != null) {
      rec.put("kmsGenerateDataKey", calls.generateDataKey);
      rec.put("kmsDecrypt", calls.decrypt);
      rec.put("kmsEncrypt", calls.encrypt);
      rec.put("kmsReEncrypt", calls.reEncrypt);
      rec.put("kmsCalls", calls.total());
    }
    if (extra != null) {
      rec.putAll(extra);
    }
    append(toJson(rec));
  }

  private static void append(String line) {
    Path file = Paths.get(System.getProperty(PROPERTY, "target/benchmark-aux.jsonl"));
    try {
      Path dir = file.toAbsolutePath().getParent();
      if (dir != null) {
        Files.createDirectories(dir);
      }
      try (FileChannel ch =
          FileChannel.open(
              file,
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.APPEND)) {
        ch.lock(); // released when the channel closes
        ch.write(java.nio.ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String toJson(Object o) {
    if (o == null) {
      return "null";
    }
    if (o instanceof Number || o instanceof Boolean) {
      return o.toString();
    }
    if (o instanceof Map<?, ?> m) {
      StringBuilder sb = new StringBuilder("{");
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (sb.length() > 1) {
          sb.append(',');
        }
        sb.append(toJson(String.valueOf(e.getKey()))).append(':').append(toJson(e.getValue()));
      }
      return sb.append('}').toString();
    }
    String s = o.toString();
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        sb.append('\\').append(c);
      } else if (c < 0x20) {
        sb.append(String.format("\\u%04x", (int) c));
      } else {
        sb.append(c);
      }
    }
    return sb.append('"').toString();
  }
}
