package com.panops.crypto.s3;

import com.panops.crypto.KeyContext;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.adapter.AdapterAccess;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.SequenceInputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.model.BucketVersioningStatus;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ObjectVersion;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.ServerSideEncryption;

/**
 * How a re-wrap (customer key migration) works: per object, KMS {@code ReEncrypt} of the data key,
 * then the new header and the unchanged body bytes streamed from S3 back into S3 through {@link
 * PutPath}, conditional on the ETag and verified; a prefix run ends with a check of what is still
 * under old keys. See {@link EncryptingS3Client#rewrapPrefix}.
 */
final class RewrapPath extends S3Path {
  private final PutPath writes;

  RewrapPath(PutPath writes) {
    super(writes);
    this.writes = writes;
  }

  // =================================================================== re-wrap

  /**
   * Moves every encrypted object under {@code prefix} to the tenant's current CMK (customer key
   * migration), one object at a time, in listing order. For each object: its header is fetched; if
   * it already names the current CMK (and, with SSE-KMS, S3 does not hold it under one of the
   * tenant's old CMKs) it is skipped, so a run that stopped can simply be started again, or resumed
   * with {@link #rewrapPrefix(String, String, String, RewrapListener) startAfter}; otherwise KMS
   * {@code ReEncrypt} re-wraps its data key (which never enters this process), and the object is
   * rewritten at the same key as the new header followed by the unchanged body bytes, streamed from
   * S3 into S3 without decryption. The rewrite is conditional on the object's ETag (a concurrent
   * writer wins; this object is then reported failed), keeps user metadata, content headers and
   * tags, moves server-side encryption under a KMS key ({@code aws:kms}, {@code aws:kms:dsse}) to
   * the current CMK in the same mode when S3 held the object under one of the tenant's old CMKs,
   * and is verified by reading the new header back before it counts as done.
   *
   * <p><b>Preconditions.</b> The {@link com.panops.crypto.TenantDirectory} must list the new CMK as
   * current and the old one as decrypt-only, and <em>every writer</em> must already use it: a
   * writer that still encrypts under the old CMK can write behind the listing cursor. The run
   * therefore ends with a check: objects under the prefix modified since shortly before the run
   * began (and not rewritten by it) are read again, and any still under another CMK (in our header,
   * or at rest in S3) are listed in {@link RewrapResult#stillUnderOldKeys()}; {@link
   * RewrapResult#complete()} is true only when that list and the failures are empty.
   *
   * <p><b>Versioned buckets.</b> Only current versions are re-wrapped; each rewrite adds a version
   * and leaves the previous one, still under the old CMK, as a noncurrent version. The end-of-run
   * check lists the noncurrent versions under the prefix that are under another CMK (as {@code
   * key?versionId=...}): they become unreadable once the old CMK is disabled, so delete them (or
   * let a lifecycle rule expire them) before disabling it, or keep the old CMK as long as they must
   * stay readable.
   *
   * <p>Blocking; not atomic across objects. A failed object is reported and left unchanged, and the
   * run goes on; a revoked key stops the run.
   *
   * @param listener told of every object examined
   * @throws S3KeyRevokedException if the old or the new CMK is revoked (objects done so far stay
   *     done)
   */
  public RewrapResult rewrapPrefix(String bucket, String prefix, RewrapListener listener) {
    return rewrapPrefix(bucket, prefix, null, listener);
  }

  /**
   * As {@link #rewrapPrefix(String, String, RewrapListener)}, starting after the key {@code
   * startAfter} (a previous run's {@link RewrapResult#lastKey()}), or from the start if null.
   */
  public RewrapResult rewrapPrefix(
      String bucket, String prefix, String startAfter, RewrapListener listener) {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(prefix, "prefix");
    Objects.requireNonNull(listener, "listener");
    Instant began = Instant.now().minus(RECHECK_MARGIN);
    long examined = 0;
    long rewrapped = 0;
    long current = 0;
    long plain = 0;
    List<String> failed = new ArrayList<>();
    Map<String, String> written = new HashMap<>();
    String lastKey = null;
    for (S3Object o : list(bucket, prefix, startAfter)) {
      examined++;
      lastKey = o.key();
      RewrapOutcome outcome;
      RuntimeException error = null;
      try {
        String[] etag = new String[1];
        outcome = rewrap(bucket, o.key(), etag);
        if (etag[0] != null) {
          written.put(o.key(), etag[0]);
        }
      } catch (S3KeyRevokedException e) {
        listener.onObject(
            new RewrapListener.RewrapEvent(bucket, o.key(), RewrapOutcome.FAILED, e, examined));
        throw e;
      } catch (RuntimeException e) {
        outcome = RewrapOutcome.FAILED;
        error = e;
      }
      switch (outcome) {
        case REWRAPPED:
          rewrapped++;
          break;
        case ALREADY_CURRENT:
          current++;
          break;
        case NOT_ENCRYPTED:
          plain++;
          break;
        default:
          failed.add(o.key());
      }
      listener.onObject(new RewrapListener.RewrapEvent(bucket, o.key(), outcome, error, examined));
    }
    List<String> still = stillUnderOldKeys(bucket, prefix, startAfter, began, written, failed);
    return new RewrapResult(examined, rewrapped, current, plain, failed, lastKey, still);
  }

  /** The current objects under {@code prefix} after {@code startAfter} (all if null), in order. */
  private Iterable<S3Object> list(String bucket, String prefix, String startAfter) {
    return s3.listObjectsV2Paginator(
            ListObjectsV2Request.builder()
                .bucket(bucket)
                .prefix(prefix)
                .startAfter(startAfter)
                .build())
        .contents();
  }

  /** How far before a run's start the end-of-run check looks, for clock skew with S3. */
  static final Duration RECHECK_MARGIN = Duration.ofMinutes(15);

  /**
   * The end-of-run check: current objects modified since {@code began} that the run did not write
   * itself, and (in a versioned bucket) noncurrent versions, whose header names another CMK than
   * the current one.
   */
  List<String> stillUnderOldKeys(
      String bucket,
      String prefix,
      String startAfter,
      Instant began,
      Map<String, String> written,
      List<String> failed) {
    String cmk = tenant.get().keys().currentKeyArn();
    Set<String> failedSet = new HashSet<>(failed);
    List<String> still = new ArrayList<>();
    for (S3Object o : list(bucket, prefix, startAfter)) {
      if (failedSet.contains(o.key())
          || o.lastModified() == null
          || o.lastModified().isBefore(began)
          || Objects.equals(written.get(o.key()), o.eTag())) {
        continue;
      }
      if (underAnotherKey(GetObjectRequest.builder().bucket(bucket).key(o.key()).build(), cmk)) {
        still.add(o.key());
      }
    }
    boolean versioned;
    try {
      BucketVersioningStatus st = s3.getBucketVersioning(r -> r.bucket(bucket)).status();
      versioned = st != null;
    } catch (S3Exception e) {
      versioned = false; // a store without versioning
    }
    if (versioned) {
      for (ObjectVersion v :
          s3.listObjectVersionsPaginator(r -> r.bucket(bucket).prefix(prefix)).versions()) {
        if (Boolean.TRUE.equals(v.isLatest())
            || (startAfter != null && v.key().compareTo(startAfter) <= 0)) {
          continue;
        }
        GetObjectRequest g =
            GetObjectRequest.builder().bucket(bucket).key(v.key()).versionId(v.versionId()).build();
        if (underAnotherKey(g, cmk)) {
          still.add(v.key() + "?versionId=" + v.versionId());
        }
      }
    }
    return still;
  }

  /**
   * Whether the object is ours and still needs an old CMK: its header names another CMK than {@code
   * cmk}, or S3 holds it (SSE-KMS or DSSE) under one of the tenant's old CMKs.
   */
  boolean underAnotherKey(GetObjectRequest g, String cmk) {
    Prefix p = fetchPrefix(g);
    return p.layout != null
        && (!p.header.keyArn().equals(cmk) || sseUnderOldTenantKey(p.response, tenant.get()));
  }

  /**
   * Re-wraps one object; see {@link #rewrapPrefix}.
   *
   * @return {@link RewrapOutcome#REWRAPPED}, {@link RewrapOutcome#ALREADY_CURRENT} or {@link
   *     RewrapOutcome#NOT_ENCRYPTED}
   * @throws S3IntegrityException if the object's header or layout is not valid, or the rewritten
   *     object does not read back as written
   * @throws S3KeyRevokedException if either CMK is revoked
   * @throws S3Exception if S3 refuses (for instance the object changed meanwhile: 412)
   */
  public RewrapOutcome rewrapObject(String bucket, String key) {
    return rewrap(bucket, key, new String[1]);
  }

  RewrapOutcome rewrap(String bucket, String key, String[] writtenEtag) {
    Objects.requireNonNull(bucket, "bucket");
    Objects.requireNonNull(key, "key");
    OpenedStreams opened = new OpenedStreams();
    try {
      Prefix p = fetchPrefix(GetObjectRequest.builder().bucket(bucket).key(key).build());
      if (p.layout == null) {
        return RewrapOutcome.NOT_ENCRYPTED;
      }
      TenantCrypto t = tenant.get();
      String cmk = t.keys().currentKeyArn();
      boolean headerCurrent = p.header.keyArn().equals(cmk);
      boolean sseOld = sseUnderOldTenantKey(p.response, t);
      if (headerCurrent && !sseOld) {
        return RewrapOutcome.ALREADY_CURRENT;
      }
      int oldH = p.header.length();
      byte[] newHeader =
          headerCurrent
              ? Arrays.copyOf(p.bytes, oldH)
              : AdapterAccess.rewrapHeader(t, p.header, KeyContext.from(p.header.keyContext()));
      long newLength = newHeader.length + (p.ciphertextLength - oldH);
      // everything that can fail without a body stream comes before one is opened
      PutObjectRequest put = rewriteRequest(bucket, key, p, newHeader, cmk, sseOld);
      Reopen body = body(bucket, key, p, newHeader, opened);
      PutObjectResponse done = writes.upload(put, body.open(), newLength, body);
      opened.closeAll();
      verifyHeader(bucket, key, done.eTag(), newHeader, newLength);
      writtenEtag[0] = done.eTag();
      return RewrapOutcome.REWRAPPED;
    } catch (IOException e) {
      opened.abortAll();
      throw SdkClientException.create("re-wrap failed: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      opened.abortAll();
      throw unwrap(e);
    } catch (Error e) {
      opened.abortAll();
      throw e;
    }
  }

  /**
   * The rewrite of the object at the same key, conditional on its ETag: its user metadata, content
   * headers, storage class, object-lock settings and tags kept, our metadata for the new header.
   */
  private PutObjectRequest rewriteRequest(
      String bucket, String key, Prefix p, byte[] newHeader, String cmk, boolean sseOld) {
    GetObjectResponse r = p.response;
    Map<String, String> md = new HashMap<>(ObjectLayout.userMetadata(r.metadata()));
    md.putAll(ObjectLayout.metadataFor(newHeader.length, p.header.frameSize(), p.plaintextLength));
    PutObjectRequest.Builder put =
        PutObjectRequest.builder()
            .bucket(bucket)
            .key(key)
            .metadata(md)
            .contentType(r.contentType())
            .cacheControl(r.cacheControl())
            .contentDisposition(r.contentDisposition())
            .contentEncoding(r.contentEncoding())
            .contentLanguage(r.contentLanguage())
            .expires(r.expires())
            .storageClass(r.storageClassAsString())
            .websiteRedirectLocation(r.websiteRedirectLocation())
            // object-lock settings follow the object (absent unless the bucket uses them)
            .objectLockMode(r.objectLockModeAsString())
            .objectLockRetainUntilDate(r.objectLockRetainUntilDate())
            .objectLockLegalHoldStatus(r.objectLockLegalHoldStatusAsString());
    if (r.eTag() != null) {
      put.ifMatch(r.eTag());
    }
    put.tagging(tagsOf(bucket, key, r.versionId(), r.tagCount(), Optional.empty()));
    encryptionAtRest(put, r, cmk, sseOld);
    return put.build();
  }

  /**
   * S3's own encryption of the rewrite: SSE under a customer key follows the migration, in its own
   * mode (single-layer or dual-layer), since an object left under the old CMK at rest would become
   * unreadable to S3 itself once the customer disables that key; any other SSE is kept.
   */
  private void encryptionAtRest(
      PutObjectRequest.Builder put, GetObjectResponse r, String cmk, boolean sseOld) {
    if (sseKms || sseOld) {
      put.serverSideEncryption(
              underKms(r) ? r.serverSideEncryption() : ServerSideEncryption.AWS_KMS)
          .ssekmsKeyId(cmk);
      if (Boolean.TRUE.equals(r.bucketKeyEnabled())) {
        put.bucketKeyEnabled(true);
      }
    } else if (r.serverSideEncryption() != null) {
      put.serverSideEncryption(r.serverSideEncryptionAsString()).ssekmsKeyId(r.ssekmsKeyId());
      if (Boolean.TRUE.equals(r.bucketKeyEnabled())) {
        put.bucketKeyEnabled(true);
      }
    }
  }

  /**
   * The rewrite's body: the new header, then the stored body bytes unchanged: from the prefix
   * already fetched if it holds them all, else read from S3 again for each attempt (the SDK may
   * retry the PutObject), pinned by version id or ETag; a stream left behind by a failed attempt is
   * aborted.
   */
  private Reopen body(String bucket, String key, Prefix p, byte[] newHeader, OpenedStreams opened) {
    int oldH = p.header.length();
    if (p.ciphertextLength <= p.bytes.length) {
      byte[] rest = Arrays.copyOfRange(p.bytes, oldH, (int) p.ciphertextLength);
      return () ->
          new SequenceInputStream(
              new ByteArrayInputStream(newHeader), new ByteArrayInputStream(rest));
    }
    String etag = p.response.eTag();
    String versionId = p.response.versionId();
    return () -> {
      GetObjectRequest.Builder g =
          GetObjectRequest.builder()
              .bucket(bucket)
              .key(key)
              .versionId(versionId)
              .range("bytes=" + oldH + "-");
      if (etag != null) {
        g.ifMatch(etag);
      }
      ResponseInputStream<GetObjectResponse> in = opened.add(s3.getObject(g.build()));
      Long total = totalLength(in.response());
      if (total == null || total != p.ciphertextLength) {
        throw Errors.integrity();
      }
      return new SequenceInputStream(new ByteArrayInputStream(newHeader), in);
    };
  }

  /**
   * Whether the stored object is SSE-KMS or DSSE-KMS encrypted under one of the tenant's keys other
   * than its current CMK (S3 reports the key as a full ARN; a bare key id is matched against the
   * ARNs' key ids).
   */
  static boolean sseUnderOldTenantKey(GetObjectResponse r, TenantCrypto t) {
    if (!underKms(r) || r.ssekmsKeyId() == null) {
      return false;
    }
    String stored = r.ssekmsKeyId();
    String current = t.keys().currentKeyArn();
    if (sameKey(stored, current)) {
      return false;
    }
    for (String old : t.keys().decryptOnlyKeyArns()) {
      if (sameKey(stored, old)) {
        return true;
      }
    }
    return false;
  }

  /** Whether S3 holds the object under a KMS key: SSE-KMS, single-layer or dual-layer (DSSE). */
  static boolean underKms(GetObjectResponse r) {
    ServerSideEncryption m = r.serverSideEncryption();
    return m == ServerSideEncryption.AWS_KMS || m == ServerSideEncryption.AWS_KMS_DSSE;
  }

  static boolean sameKey(String stored, String arn) {
    return stored.equals(arn) || arn.endsWith("/" + stored);
  }

  void verifyHeader(String bucket, String key, String etag, byte[] header, long length) {
    GetObjectRequest.Builder g =
        GetObjectRequest.builder().bucket(bucket).key(key).range("bytes=0-" + (header.length - 1));
    if (etag != null) {
      g.ifMatch(etag);
    }
    ResponseBytes<GetObjectResponse> back = s3.getObjectAsBytes(g.build());
    Long total = totalLength(back.response());
    if (total == null
        || total != length
        || !Arrays.equals(back.asByteArrayUnsafe(), header)
        || ObjectLayout.of(back.response().metadata()) == null) {
      throw Errors.integrity();
    }
  }
}
