package com.panops.crypto.testkit.internal.kms;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.panops.crypto.testkit.TrailEvent;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The in-memory, thread-safe event log, optionally mirrored as JSON lines to a file (appended,
 * flushed per event) and delivered as CloudTrail log files ({@link CloudTrailDelivery}, in the
 * order of this log). A failing file write never fails the request; it is counted instead.
 */
public final class Trail implements AutoCloseable {
  private final List<TrailEvent> events = new ArrayList<>();
  private final BufferedWriter writer;
  private final CloudTrailDelivery cloudTrail;
  private int writeFailures;

  public Trail(Path file) {
    this(file, null);
  }

  /**
   * A trail mirrored to {@code file} (if not null) and delivered by {@code cloudTrail} (if not).
   */
  public Trail(Path file, CloudTrailDelivery cloudTrail) {
    this.cloudTrail = cloudTrail;
    if (file == null) {
      writer = null;
      return;
    }
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      writer =
          Files.newBufferedWriter(
              file,
              StandardCharsets.UTF_8,
              StandardOpenOption.CREATE,
              StandardOpenOption.APPEND,
              StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open trail file " + file, e);
    }
  }

  public synchronized void append(TrailEvent event) {
    append(event, null);
  }

  /** Whether records are delivered as CloudTrail log files (then build them for append). */
  boolean deliversCloudTrail() {
    return cloudTrail != null;
  }

  /** Appends the event, and its CloudTrail record (if not null) to the delivery. */
  synchronized void append(TrailEvent event, ObjectNode cloudTrailRecord) {
    if (cloudTrail != null && cloudTrailRecord != null) {
      cloudTrail.add(cloudTrailRecord);
    }
    events.add(event);
    if (writer != null) {
      try {
        writer.write(event.toJson());
        writer.write('\n');
        writer.flush();
      } catch (IOException e) {
        writeFailures++;
      }
    }
  }

  /** Delivers the buffered CloudTrail records now: the last file written, if any. */
  public Optional<Path> deliverCloudTrail() {
    return cloudTrail == null ? Optional.empty() : cloudTrail.deliver();
  }

  /** CloudTrail deliveries that failed. */
  public int cloudTrailFailures() {
    return cloudTrail == null ? 0 : cloudTrail.failures();
  }

  /** Runs before each periodic CloudTrail delivery. */
  void beforeCloudTrailDelivery(Runnable r) {
    if (cloudTrail != null) {
      cloudTrail.beforeDelivery(r);
    }
  }

  /** A CloudTrail record of KMS's own (the deletion of a key): delivered, not in this log. */
  synchronized void serviceEvent(ObjectNode cloudTrailRecord) {
    if (cloudTrail != null) {
      cloudTrail.add(cloudTrailRecord);
    }
  }

  public synchronized List<TrailEvent> snapshot() {
    return List.copyOf(events);
  }

  public synchronized void clear() {
    events.clear();
  }

  public synchronized int writeFailures() {
    return writeFailures;
  }

  /** Closes the file, after delivering the CloudTrail records still buffered. */
  @Override
  public void close() {
    if (cloudTrail != null) {
      cloudTrail.close();
    }
    closeFile();
  }

  private synchronized void closeFile() {
    if (writer != null) {
      try {
        writer.close();
      } catch (IOException e) {
        writeFailures++;
      }
    }
  }
}
