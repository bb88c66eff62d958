package com.panops.crypto.verify;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Where CloudTrail log files are: a local folder (for example a copy of the trail's bucket made
 * with {@code aws s3 sync}) or an S3 prefix read through the caller's {@link S3Client}. Either way
 * every file under it whose name ends in {@code .json.gz} or {@code .json} is read (CloudTrail's
 * digest files, under {@code CloudTrail-Digest/}, are skipped), in the order of the delivery time
 * in CloudTrail's file names ({@code ..._20261208T0105Z_...}), then by name.
 */
public interface TrailSource {

  /** One log file: its name (relative path or S3 key), size in bytes, and a way to open it. */
  interface LogFile {
    String name();

    long size();

    InputStream open() throws IOException;
  }

  /** The log files, in delivery order. */
  List<LogFile> files();

  /** Every log file under {@code folder}, recursively. */
  static TrailSource folder(Path folder) {
    Objects.requireNonNull(folder, "folder");
    return () -> Sources.folder(folder);
  }

  /**
   * Every log file under {@code prefix} in {@code bucket}, listed and read through {@code s3} (the
   * caller's client: its credentials, region, endpoint and HTTP client). Objects are read one at a
   * time, streaming.
   */
  static TrailSource s3(S3Client s3, String bucket, String prefix) {
    Objects.requireNonNull(s3, "s3");
    Objects.requireNonNull(bucket, "bucket");
    return () -> Sources.s3(s3, bucket, prefix == null ? "" : prefix);
  }
}
