package com.panops.crypto.verify;

import com.panops.crypto.verify.TrailSource.LogFile;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Reads a customer's CloudTrail logs and reports, per KMS key and per vendor principal, each time
 * the customer cut the vendor off (DisableKey, ScheduleKeyDeletion, a key policy without the
 * vendor, a revoked or retired grant, the key's deletion) and how long until the vendor went dark.
 *
 * <pre>{@code
 * VerificationReport report = TrailVerifier.builder()
 *     .vendorPrincipal("arn:aws:iam::999988887777:role/PanOpsServiceRole")
 *     .build()
 *     .verify(TrailSource.folder(Path.of("trail")));
 * System.out.print(report.toText());
 * }</pre>
 *
 * <p>Streaming: one record of one file is parsed at a time; memory holds the records of one reorder
 * window, one entry per key and vendor principal, and bounded per-key timelines. Not thread-safe;
 * one {@code verify} at a time per instance.
 */
public final class TrailVerifier {

  /** Progress while files are read (called after each file, on the verifying thread). */
  @FunctionalInterface
  public interface Progress {
    void update(int filesDone, int files, long bytesDone, long bytes);
  }

  private final List<String> vendors;
  private final Duration propagationWindow;
  private final Duration reorderWindow;
  private final String probeUserAgent;
  private final List<Path> auditLogs;
  private final Progress progress;
  private final Clock clock;

  private TrailVerifier(Builder b) {
    this.vendors = List.copyOf(b.vendors);
    this.propagationWindow = b.propagationWindow;
    this.reorderWindow = b.reorderWindow;
    this.probeUserAgent = b.probeUserAgent;
    this.auditLogs = List.copyOf(b.auditLogs);
    this.progress = b.progress;
    this.clock = b.clock;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Reads every log file of {@code source} and analyses it. */
  public VerificationReport verify(TrailSource source) {
    Objects.requireNonNull(source, "source");
    InputStats stats = new InputStats();
    Reconciler reconciler = auditLogs.isEmpty() ? null : Reconciler.of(auditLogs);
    TrailAnalysis.Settings settings =
        new TrailAnalysis.Settings(
            new Vendors(vendors), propagationWindow, reorderWindow, probeUserAgent);
    TrailAnalysis analysis = new TrailAnalysis(settings, stats, reconciler);
    Reorder reorder = new Reorder(reorderWindow, analysis, analysis::late, stats);
    RecordReader reader =
        new RecordReader(new RecordFields(clock.instant().plus(Duration.ofDays(1))), stats);
    List<LogFile> files = source.files();
    long total = files.stream().mapToLong(LogFile::size).sum();
    int done = 0;
    for (LogFile f : files) {
      try (InputStream in = f.open()) {
        reader.read(f.name(), new Counting(in, stats), reorder::offer);
      } catch (IOException | RuntimeException e) {
        stats.unreadable(f.name(), "cannot be read (" + e.getClass().getSimpleName() + ")");
      }
      reorder.endOfFile();
      progress.update(++done, files.size(), stats.bytes, total);
    }
    reorder.finish();
    if (analysis.vendorCalls == 0) {
      stats.nothingOfTheVendor(files.size());
    }
    return new VerificationReport(analysis, clock.instant());
  }

  /** Counts the bytes read from a file, for the progress and the report. */
  private static final class Counting extends FilterInputStream {
    private final InputStats stats;

    Counting(InputStream in, InputStats stats) {
      super(in);
      this.stats = stats;
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        stats.bytes++;
      }
      return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
      int n = super.read(buf, off, len);
      if (n > 0) {
        stats.bytes += n;
      }
      return n;
    }
  }

  /** Settings; every one has a default. */
  public static final class Builder {
    private final List<String> vendors = new ArrayList<>();
    private Duration propagationWindow = Duration.ofMinutes(1);
    private Duration reorderWindow = Duration.ofHours(1);
    private String probeUserAgent = "panops-purpose/probe";
    private final List<Path> auditLogs = new ArrayList<>();
    private Progress progress = (a, b, c, d) -> {};
    private Clock clock = Clock.systemUTC();

    private Builder() {}

    /**
     * A vendor principal: a role ARN (its assumed-role sessions are folded to it), another IAM ARN,
     * or a 12-digit account id. Without any, every caller from an account other than the key's is
     * treated as a vendor.
     */
    public Builder vendorPrincipal(String principal) {
      Objects.requireNonNull(principal, "principal");
      if (!principal.matches("\\d{12}") && !principal.startsWith("arn:")) {
        throw new IllegalArgumentException("a vendor principal is an ARN or a 12-digit account id");
      }
      vendors.add(principal);
      return this;
    }

    /**
     * How long after a cut a successful vendor call is still KMS's propagation, not a violation
     * (default 1 minute; KMS applies key changes eventually, usually within seconds).
     */
    public Builder propagationWindow(Duration window) {
      this.propagationWindow = nonNegative(window, "propagationWindow");
      return this;
    }

    /**
     * How far out of order CloudTrail may deliver an event (default 1 hour): records are held this
     * long to be put in event-time order. A record later than this is reported as late.
     */
    public Builder reorderWindow(Duration window) {
      this.reorderWindow = nonNegative(window, "reorderWindow");
      return this;
    }

    /**
     * The text in a Decrypt's user agent that marks it as a probe (default {@code
     * panops-purpose/probe}).
     */
    public Builder probeUserAgent(String marker) {
      Objects.requireNonNull(marker, "marker");
      if (marker.isBlank()) {
        throw new IllegalArgumentException("the probe marker must not be blank");
      }
      this.probeUserAgent = marker;
      return this;
    }

    /** A file of the library's audit events (JSON lines), to reconcile with the trail. */
    public Builder auditLog(Path file) {
      auditLogs.add(Objects.requireNonNull(file, "file"));
      return this;
    }

    public Builder progress(Progress progress) {
      this.progress = Objects.requireNonNull(progress, "progress");
      return this;
    }

    /** The clock of the report's {@code generatedAt} (for tests). */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    public TrailVerifier build() {
      return new TrailVerifier(this);
    }

    private static Duration nonNegative(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative()) {
        throw new IllegalArgumentException(name + " must not be negative");
      }
      return d;
    }
  }
}
