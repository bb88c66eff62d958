package com.panops.crypto.testkit.internal.kms;

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

/**
 * The in-memory, thread-safe event log, optionally mirrored as JSON lines to a file (appended,
 * flushed per event). A failing file write never fails the request; it is counted instead.
 */
public final class Trail implements AutoCloseable {
  private final List<TrailEvent> events = new ArrayList<>();
  private final BufferedWriter writer;
  private int writeFailures;

  public Trail(Path file) {
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

  public synchronized List<TrailEvent> snapshot() {
    return List.copyOf(events);
  }

  public synchronized void clear() {
    events.clear();
  }

  public synchronized int writeFailures() {
    return writeFailures;
  }

  @Override
  public synchronized void close() {
    if (writer != null) {
      try {
        writer.close();
      } catch (IOException e) {
        writeFailures++;
      }
    }
  }
}
