package com.panops.crypto.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * A download into a new file that never leaves partial plaintext at its destination. The
 * destination is claimed first (created empty, as the SDK's own file transformer creates it), so a
 * file that another process creates there meanwhile fails that process's create, not this download.
 * The body is written to a temporary file beside it, which is moved over the claimed, still empty
 * file only once the whole body has been received; otherwise the temporary file is deleted and the
 * claim released. A claimed file that was replaced or written to meanwhile is left as it is. Made
 * by {@link #claim(Path)}.
 *
 * @param destination the file as the caller named it
 * @param target {@code destination} as an absolute path
 * @param claimKey the identity of the empty file claimed at {@code target}
 * @param tmp the temporary file beside it
 */
record FileDownload(Path destination, Path target, Object claimKey, Path tmp) {

  /**
   * Claims {@code destination} and creates the temporary file beside it.
   *
   * @throws SdkClientException if {@code destination} exists (caused by {@link
   *     FileAlreadyExistsException}) or either file cannot be created
   */
  static FileDownload claim(Path destination) {
    Path target = destination.toAbsolutePath();
    Object claim;
    try {
      Files.createFile(target);
      claim = fileKey(target);
    } catch (FileAlreadyExistsException e) {
      throw SdkClientException.create("file already exists: " + destination, e);
    } catch (IOException e) {
      throw SdkClientException.create("could not create " + destination, e);
    }
    try {
      Path tmp = Files.createTempFile(target.getParent(), ".panops-get-", ".part");
      return new FileDownload(destination, target, claim, tmp);
    } catch (IOException e) {
      releaseClaim(target, claim);
      throw SdkClientException.create("could not create a file beside " + destination, e);
    }
  }

  /** A response transformer's step: writes the whole body to the temporary file. */
  GetObjectResponse receive(GetObjectResponse response, InputStream body) throws IOException {
    try (OutputStream out = Files.newOutputStream(tmp)) {
      body.transferTo(out);
    }
    return response;
  }

  /**
   * Moves the temporary file over the claimed destination, if that is still this download's empty
   * claim.
   *
   * @throws SdkClientException if the claim was replaced or written to (caused by {@link
   *     FileAlreadyExistsException}), or the move fails
   */
  void moveIntoPlace() {
    // Replace only our own empty claim. Between this check and the rename only a process that
    // deletes or renames our file and puts another in its place within microseconds could lose
    // its file; every create, and every write into the claimed file, is detected.
    if (!stillOurClaim(target, claimKey)) {
      throw SdkClientException.create(
          "file already exists: "
              + destination
              + " was replaced or written to during the download; left as it is",
          new FileAlreadyExistsException(destination.toString()));
    }
    try {
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw SdkClientException.create("could not write " + destination + ": " + e.getMessage(), e);
    }
  }

  /** After a failure: deletes the temporary file and releases the claim if it is still ours. */
  void discard() {
    try {
      Files.deleteIfExists(tmp);
    } catch (IOException ignored) {
      // best effort; the name says what it is
    }
    releaseClaim(target, claimKey);
  }

  /** The file's identity (inode) where the file system has one, else its creation time. */
  private static Object fileKey(Path p) throws IOException {
    return identity(Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
  }

  private static Object identity(BasicFileAttributes a) {
    return a.fileKey() != null ? a.fileKey() : a.creationTime();
  }

  /** Whether {@code p} is still the empty file this download created. */
  private static boolean stillOurClaim(Path p, Object claim) {
    try {
      BasicFileAttributes a =
          Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      return a.isRegularFile() && a.size() == 0 && identity(a).equals(claim);
    } catch (IOException e) {
      return false;
    }
  }

  /** Deletes the claimed destination if it is still ours and empty. */
  private static void releaseClaim(Path p, Object claim) {
    if (stillOurClaim(p, claim)) {
      try {
        Files.deleteIfExists(p);
      } catch (IOException ignored) {
        // best effort: an empty file
      }
    }
  }
}
