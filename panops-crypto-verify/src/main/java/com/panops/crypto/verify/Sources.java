package com.panops.crypto.verify;

import com.panops.crypto.verify.TrailSource.LogFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.S3Object;

/** The two {@link TrailSource}s: a folder and an S3 prefix. */
final class Sources {
  private static final Pattern DELIVERED = Pattern.compile("_(\\d{8}T\\d{4}Z)_");

  private Sources() {}

  static List<LogFile> folder(Path folder) {
    if (!Files.isDirectory(folder)) {
      throw new IllegalArgumentException("not a folder: " + folder);
    }
    List<LogFile> out = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(folder)) {
      walk.filter(Files::isRegularFile)
          .filter(p -> isLogFile(folder.relativize(p).toString()))
          .forEach(p -> out.add(new FolderFile(folder.relativize(p).toString(), p)));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + folder, e);
    }
    return sorted(out);
  }

  static List<LogFile> s3(S3Client s3, String bucket, String prefix) {
    List<LogFile> out = new ArrayList<>();
    ListObjectsV2Request req = ListObjectsV2Request.builder().bucket(bucket).prefix(prefix).build();
    for (S3Object o : s3.listObjectsV2Paginator(req).contents()) {
      if (isLogFile(o.key())) {
        out.add(new S3File(s3, bucket, o.key(), o.size()));
      }
    }
    return sorted(out);
  }

  static boolean isLogFile(String name) {
    String n = name.replace('\\', '/');
    return (n.endsWith(".json.gz") || n.endsWith(".json")) && !n.contains("CloudTrail-Digest/");
  }

  /** By the delivery time in CloudTrail's file name, then by name. */
  static List<LogFile> sorted(List<LogFile> files) {
    Comparator<LogFile> byDelivery =
        Comparator.comparing(
            f -> {
              Matcher m = DELIVERED.matcher(f.name());
              return m.find() ? m.group(1) : "";
            });
    files.sort(byDelivery.thenComparing(LogFile::name));
    return List.copyOf(files);
  }

  private record FolderFile(String name, Path path) implements LogFile {
    @Override
    public long size() {
      try {
        return Files.size(path);
      } catch (IOException e) {
        return 0;
      }
    }

    @Override
    public InputStream open() throws IOException {
      return Files.newInputStream(path);
    }
  }

  private record S3File(S3Client s3, String bucket, String key, long size) implements LogFile {
    @Override
    public String name() {
      return key;
    }

    @Override
    public InputStream open() {
      return s3.getObject(b -> b.bucket(bucket).key(key));
    }
  }
}
