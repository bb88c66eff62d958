package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A 100 MiB object round trip in a child JVM whose heap is 64 MiB: the put streams through the
 * encrypting pump and multipart parts of 8 MiB, the get through the decrypting stream, so neither
 * ever holds the object. The child reuses this run's S3Mock and LocalKms.
 */
@Tag("process-level")
class BoundedMemoryIT {
  private static final long SIZE = 100L * 1024 * 1024;

  @Test
  void roundTripOf100MiB_succeedsWithA64MiBHeap() throws Exception {
    S3TestEnv env = S3TestEnv.get();
    String bucket = env.freshBucket();
    String cmk = env.freshKey();
    String cp =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> cmd = new ArrayList<>();
    cmd.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx64m");
    cmd.add("-XX:+ExitOnOutOfMemoryError");
    cmd.add("-Daws.disableEc2Metadata=true");
    cmd.add("-cp");
    cmd.add(cp);
    cmd.add(BoundedMemoryRoundTrip.class.getName());
    cmd.add(env.s3mock.endpoint().toString());
    cmd.add(env.kms.endpoint().toString());
    cmd.add(env.kms.region());
    cmd.add(env.kms.vendor().accessKeyId());
    cmd.add(env.kms.vendor().secretAccessKey());
    cmd.add(cmk);
    cmd.add(bucket);
    cmd.add(Long.toString(SIZE));
    Path out = Files.createTempFile("bounded-memory", ".log");
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
    pb.environment().put("AWS_EC2_METADATA_DISABLED", "true");
    Process p = pb.start();
    boolean done = p.waitFor(8, TimeUnit.MINUTES);
    if (!done) {
      p.destroyForcibly();
    }
    String log = Files.readString(out, StandardCharsets.UTF_8);
    assertTrue(done, "child did not finish:\n" + log);
    assertEquals(0, p.exitValue(), "child failed:\n" + log);
    Map<String, String> kv = new HashMap<>();
    for (String line : log.split("\n")) {
      int eq = line.indexOf('=');
      if (eq > 0 && !line.contains(" ")) {
        kv.put(line.substring(0, eq), line.substring(eq + 1).trim());
      }
    }
    assertEquals(kv.get("expected"), kv.get("read"), log);
    assertEquals(Long.toString(SIZE), kv.get("length"));
    // the premise that makes the round trip a proof: the object does not fit in the child's heap
    // (a put or get that buffered it would have ended in OutOfMemoryError, exit code non-zero)
    long heap = Long.parseLong(kv.get("maxHeapMiB")) * 1024 * 1024;
    assertTrue(heap < SIZE, "the child's heap (" + heap + ") must be smaller than the object");
  }
}
