package com.panops.crypto.testkit.internal.kms;

import static com.panops.crypto.testkit.internal.kms.KmsEngine.MAPPER;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.GZIPOutputStream;

/**
 * Delivers CloudTrail records as CloudTrail does: gzipped {@code {"Records":[...]}} files under
 * {@code DIR/AWSLogs/ACCOUNT/CloudTrail/REGION/yyyy/MM/dd/}, named {@code
 * ACCOUNT_CloudTrail_REGION_yyyyMMddTHHmmZ_RANDOM16.json.gz} after the delivery time (UTC, on
 * LocalKms's clock). Records are buffered in the order added and written, at most {@code
 * maxRecords} to a file, by one daemon thread: when the buffer reaches {@code maxRecords}, every
 * {@code interval}, on {@link #deliver()} and on {@link #close()}. Each file is written under a
 * hidden temporary name in its folder and renamed atomically, so a reader never sees half a file. A
 * failed write never fails a request: it is counted, and its records stay buffered for the next
 * delivery (those still unwritten when closing are lost, and counted).
 */
public final class CloudTrailDelivery implements AutoCloseable {

  private static final DateTimeFormatter DAY =
      DateTimeFormatter.ofPattern("yyyy/MM/dd").withZone(ZoneOffset.UTC);
  private static final DateTimeFormatter NAME_TIME =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmm'Z'").withZone(ZoneOffset.UTC);
  private static final String ALPHANUMERIC =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  private final Path root;
  private final String account;
  private final String region;
  private final Clock clock;
  private final int maxRecords;
  private final SecureRandom random = new SecureRandom();
  private final ScheduledExecutorService writer;
  private final Object lock = new Object();
  private List<ObjectNode> buffer = new ArrayList<>(); // guarded by lock
  private int failures; // guarded by lock
  private boolean closed; // guarded by lock
  private volatile Runnable beforeDelivery = () -> {};

  private CloudTrailDelivery(
      Path dir, String account, String region, Clock clock, Duration interval, int maxRecords) {
    this.root = dir.toAbsolutePath().resolve("AWSLogs").resolve(account).resolve("CloudTrail");
    this.account = account;
    this.region = region;
    this.clock = clock;
    this.maxRecords = maxRecords;
    this.writer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "local-kms-cloudtrail");
              t.setDaemon(true);
              return t;
            });
    long millis = Math.max(1, interval.toMillis());
    writer.scheduleWithFixedDelay(this::tick, millis, millis, TimeUnit.MILLISECONDS);
  }

  /** A delivery to {@code dir} (see the class comment); null if {@code dir} is null. */
  public static CloudTrailDelivery to(
      Path dir, String account, String region, Clock clock, Duration interval, int maxRecords) {
    return dir == null
        ? null
        : new CloudTrailDelivery(dir, account, region, clock, interval, maxRecords);
  }

  /** The interval, if positive. */
  public static Duration checkInterval(Duration interval) {
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("delivery interval must be positive");
    }
    return interval;
  }

  /** The number, if at least 1. */
  public static int checkRecordsPerFile(int records) {
    if (records < 1) {
      throw new IllegalArgumentException("records per file must be at least 1");
    }
    return records;
  }

  /** Runs before each periodic delivery (LocalKms deletes the keys whose deletion date came). */
  public void beforeDelivery(Runnable r) {
    this.beforeDelivery = r;
  }

  /** Buffers a record; a full buffer is handed to the writer thread (the caller never waits). */
  public void add(ObjectNode record) {
    synchronized (lock) {
      if (closed) {
        failures++;
        return;
      }
      buffer.add(record);
      if (buffer.size() == maxRecords) {
        writer.execute(this::drain);
      }
    }
  }

  /**
   * Writes every buffered record now and waits for it.
   *
   * @return the last file written, or empty if nothing was buffered (or the write failed)
   */
  public Optional<Path> deliver() {
    synchronized (lock) {
      if (closed) {
        return Optional.empty();
      }
    }
    try {
      return await(writer.submit(this::drain));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      return Optional.empty(); // closed meanwhile: close() delivered the rest
    }
  }

  /** Deliveries that failed (a file not written, or records added after close). */
  public int failures() {
    synchronized (lock) {
      return failures;
    }
  }

  private void tick() {
    try {
      beforeDelivery.run();
    } catch (RuntimeException e) {
      // deleting expired keys is LocalKms's business; delivery goes on
    }
    drain();
  }

  /** Writes the buffer, at most {@code maxRecords} a file, oldest first. Writer thread only. */
  private Optional<Path> drain() {
    Optional<Path> last = Optional.empty();
    while (true) {
      List<ObjectNode> batch;
      synchronized (lock) {
        if (buffer.isEmpty()) {
          return last;
        }
        int n = Math.min(maxRecords, buffer.size());
        batch = new ArrayList<>(buffer.subList(0, n));
        buffer = new ArrayList<>(buffer.subList(n, buffer.size()));
      }
      try {
        last = Optional.of(write(batch));
      } catch (IOException | RuntimeException e) {
        synchronized (lock) {
          failures++;
          batch.addAll(buffer);
          buffer = batch; // kept, in order, for the next delivery
        }
        return Optional.empty();
      }
    }
  }

  private Path write(List<ObjectNode> records) throws IOException {
    Instant now = clock.instant();
    Path folder = root.resolve(region).resolve(DAY.format(now));
    Files.createDirectories(folder);
    String name =
        account
            + "_CloudTrail_"
            + region
            + "_"
            + NAME_TIME.format(now)
            + "_"
            + randomSuffix()
            + ".json.gz";
    Path file = folder.resolve(name);
    Path temp = folder.resolve("." + name + ".tmp");
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(temp));
        JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      g.writeStartObject();
      g.writeArrayFieldStart("Records");
      for (ObjectNode r : records) {
        g.writeTree(r);
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    try {
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temp, file);
    }
    return file;
  }

  private String randomSuffix() {
    StringBuilder b = new StringBuilder(16);
    for (int i = 0; i < 16; i++) {
      b.append(ALPHANUMERIC.charAt(random.nextInt(ALPHANUMERIC.length())));
    }
    return b.toString();
  }

  private Optional<Path> await(Future<Optional<Path>> f) {
    try {
      return f.get(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } catch (ExecutionException | TimeoutException e) {
      return Optional.empty();
    }
  }

  /** Delivers what is buffered, then stops the writer thread. */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    await(writer.submit(this::drain));
    writer.shutdownNow();
    synchronized (lock) {
      failures += buffer.size() > 0 ? 1 : 0;
      buffer.clear();
    }
  }
}
