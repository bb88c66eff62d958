package com.panops.crypto.s3;

import com.panops.crypto.KeyContext;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.TenantCrypto;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Objects;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.services.s3.DelegatingS3Client;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CompleteMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.CopyObjectRequest;
import software.amazon.awssdk.services.s3.model.CopyObjectResponse;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.GetObjectTorrentRequest;
import software.amazon.awssdk.services.s3.model.GetObjectTorrentResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.PutObjectAnnotationRequest;
import software.amazon.awssdk.services.s3.model.PutObjectAnnotationResponse;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.RenameObjectRequest;
import software.amazon.awssdk.services.s3.model.RenameObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.UploadPartCopyRequest;
import software.amazon.awssdk.services.s3.model.UploadPartCopyResponse;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;
import software.amazon.awssdk.services.s3.model.WriteGetObjectResponseRequest;
import software.amazon.awssdk.services.s3.model.WriteGetObjectResponseResponse;

/**
 * An {@link S3Client} that encrypts object bodies for one tenant on write and authenticates and
 * decrypts them on read, with panops-crypto's framed format, under the tenant's customer master
 * key. It decorates a ready-built client (the SDK's {@link DelegatingS3Client}): operations it does
 * not override pass through unchanged.
 *
 * <pre>{@code
 * S3Client s3 = EncryptingS3Client.builder()
 *     .s3Client(S3Client.create())
 *     .crypto(panopsCrypto)
 *     .tenant("acme")
 *     .keyContext(KeyContext.of("class", "mail"))
 *     .serverSideLayer(ServerSideLayer.SSE_KMS)
 *     .build();
 * s3.putObject(r -> r.bucket("b").key("k"), RequestBody.fromFile(path));   // streamed, any size
 * try (ResponseInputStream<GetObjectResponse> in = s3.getObject(r -> r.bucket("b").key("k"))) {
 *   in.transferTo(out);                                                   // frame by frame
 * }
 * }</pre>
 *
 * <h2>Design</h2>
 *
 * <p>This class only routes. Each path's logic has its own package-private class: {@code PutPath}
 * (streamed put and multipart), {@code GetPath} (whole and ranged reads, {@code headObject}),
 * {@code CopyPath} and {@code RewrapPath}, over the shared plumbing of {@code S3Path}; the
 * builder's settings are checked by {@code ClientSettings} and {@code WrappedClientRules}.
 *
 * <p>Each object body is one panops message ({@code header || frames}, see {@code docs/FORMAT.md})
 * whose message AAD binds it to its bucket and key ({@code panops:s3:bucket}, {@code
 * panops:s3:key}, plus per-request pairs from {@link RequestEncryption}): an object copied or moved
 * over another by anyone with S3 write access fails to decrypt. The header carries the encrypted
 * data key and its key context, so KMS is called only on a data-key cache miss, never per object.
 *
 * <p><b>Writes</b> ({@link #putObject(PutObjectRequest, RequestBody)}) pull plaintext from the
 * request body through the core's encrypting stream ({@code EncryptingInputStream}, no thread,
 * memory of one frame and a 16 KiB chunk). The first frame is sealed before the request is sent, so
 * the header length, and with a known plaintext length the exact ciphertext length, are known up
 * front. A body of known length up to {@link Builder#multipartThreshold} goes in one {@code
 * PutObject}; larger or unknown-length bodies go through multipart upload in parts of {@link
 * Builder#multipartPartSize} (at least 5 MiB, default 8 MiB) filled from the same encrypting
 * stream, one part in memory at a time; any failure aborts the upload, so no partial object is ever
 * visible. A short unknown-length body ends up in a single {@code PutObject}.
 *
 * <p><b>Reads</b> ({@link #getObject(GetObjectRequest, ResponseTransformer)}, which every {@code
 * getObject} overload reaches) return the core's decrypting stream: no byte is released before its
 * frame verified, memory is about two frames. A ranged read ({@code bytes=a-b}, {@code bytes=a-},
 * {@code bytes=-n}) first fetches the first 16 KiB (the header; the whole object if smaller), then
 * only the frames that cover the range, pinned to the same object with {@code If-Match} on its
 * ETag, authenticates each frame, and returns exactly the requested bytes, with {@code
 * Content-Range} and {@code Content-Length} in plaintext terms.
 *
 * <p><b>Metadata</b> ({@code x-amz-meta-panops-*}, see {@code ObjectLayout}) marks an encrypted
 * object and records header length, frame size and plaintext length. It is never trusted: each
 * value is checked against the parsed header and the length S3 reports, and a mismatch fails with
 * {@link S3IntegrityException} before anything is decrypted. The adapter's keys are removed from
 * responses and refused in requests.
 *
 * <p><b>Copy</b> is a streamed decrypt and re-encrypt through this process (a server-side copy
 * would not decrypt at its new key, since the AAD binds the key). <b>Re-wrap</b> ({@link
 * #rewrapPrefix}) moves objects to the tenant's current CMK with KMS {@code ReEncrypt}: a new
 * header, the same body bytes streamed from S3 back into S3, nothing decrypted.
 *
 * <p><b>Refused</b>: {@code createMultipartUpload}, {@code uploadPart}, {@code uploadPartCopy} and
 * {@code completeMultipartUpload} (they would store plaintext, or splice ciphertexts; {@code
 * putObject} does multipart itself), and {@code getObjectTorrent}. {@code getObjectAttributes},
 * listings and the ETag report the stored (ciphertext) object.
 *
 * <p>Thread-safe, like the client it wraps. {@link #close()} closes the wrapped client, not the
 * {@link PanopsCrypto}.
 */
public final class EncryptingS3Client extends DelegatingS3Client {
  /** Message AAD key holding the bucket name. */
  public static final String AAD_BUCKET = "panops:s3:bucket";

  /** Message AAD key holding the object key. */
  public static final String AAD_KEY = "panops:s3:key";

  private final ClientSettings settings;
  private final PutPath writes;
  private final GetPath reads;
  private final CopyPath copies;
  private final RewrapPath rewraps;

  private EncryptingS3Client(S3Client s3, ClientSettings settings) {
    super(s3);
    this.settings = settings;
    this.writes = settings.putPath(s3);
    this.reads = new GetPath(writes);
    this.copies = new CopyPath(writes, reads);
    this.rewraps = new RewrapPath(writes);
  }

  /** A new builder. */
  public static Builder builder() {
    return new Builder();
  }

  // =================================================================== routes

  /** The prefix the first GET of a ranged read and a re-wrap fetches. */
  static final int PREFIX_FETCH = S3Path.PREFIX_FETCH;

  /**
   * Encrypts the body as it streams and stores it. The body's content stream is read once (again
   * only if the SDK retries a single {@code PutObject}, which re-encrypts). User metadata is kept;
   * {@code x-amz-meta-panops-*} keys are the adapter's and refused. With SSE-KMS on, the object is
   * also encrypted at rest by S3 under the tenant's current CMK.
   *
   * @throws IllegalArgumentException if the request carries checksums or a Content-MD5 of the
   *     plaintext, an append offset, reserved metadata, or SSE settings that conflict with SSE-KMS
   * @throws S3KeyRevokedException if the tenant's current CMK is revoked
   * @throws S3EncryptionException if KMS is unavailable to give a data key
   */
  @Override
  public PutObjectResponse putObject(PutObjectRequest request, RequestBody body) {
    return writes.putObject(request, body);
  }

  /**
   * Encrypts and stores a body of unknown length read from {@code plaintext} (closed at the end):
   * one {@code PutObject} if it fits in one part, else a multipart upload. Not retried by the SDK
   * (a stream cannot be read twice); a failed multipart upload is aborted.
   *
   * @see #putObject(PutObjectRequest, RequestBody)
   */
  public PutObjectResponse putObject(PutObjectRequest request, InputStream plaintext) {
    return writes.putObject(request, plaintext);
  }

  /**
   * Reads and decrypts an object (or a byte range of it, from the request's {@code Range}),
   * authenticating every frame before releasing its bytes. Every {@code getObject} and {@code
   * getObjectAsBytes} overload of {@link S3Client} comes here. The response reports the plaintext
   * length, and for a range the plaintext {@code Content-Range}; checksums of the stored object are
   * removed from it.
   *
   * <p>Errors while reading the stream are the adapter's {@link S3IntegrityException} and {@link
   * S3KeyRevokedException} (unchecked).
   *
   * @throws IllegalArgumentException for a malformed or multi-part range, or a {@code partNumber}
   * @throws S3Exception with status 416 ({@code InvalidRange}) for a range that selects nothing
   * @throws S3EncryptionException for a plaintext object when legacy reads are not allowed
   */
  @Override
  public <ReturnT> ReturnT getObject(
      GetObjectRequest request, ResponseTransformer<GetObjectResponse, ReturnT> transformer) {
    return reads.getObject(request, transformer);
  }

  /**
   * Reads and decrypts an object into a new file at {@code destination}. The destination is claimed
   * first (created empty), so another process's create there meanwhile fails, not this download.
   * The plaintext is written to a temporary file beside it and moved over the claimed file only
   * once every frame has been authenticated: after a failure (tamper, truncation, revoked key) no
   * file, and so no partial plaintext, is left at {@code destination}, and the temporary file is
   * deleted. A claimed file that was replaced or written to meanwhile is left as it is, and the
   * download fails.
   *
   * @throws SdkClientException if {@code destination} exists or was replaced or written to during
   *     the download, caused by {@link java.nio.file.FileAlreadyExistsException} (as the SDK's own
   *     file transformer)
   */
  @Override
  public GetObjectResponse getObject(GetObjectRequest request, Path destination) {
    return reads.getObject(request, destination);
  }

  /**
   * The object's metadata, with the plaintext length as {@code contentLength} (computed from the
   * stored length and the adapter's metadata, without reading the object; see the README for what
   * that does and does not prove). The adapter's metadata keys and the stored object's checksums
   * are removed.
   *
   * @throws S3IntegrityException if the adapter's metadata does not fit the stored length
   * @throws S3EncryptionException for a plaintext object when legacy reads are not allowed
   */
  @Override
  public HeadObjectResponse headObject(HeadObjectRequest request) {
    return reads.headObject(request);
  }

  /**
   * Copies an object by streaming it through this process: decrypted (and authenticated) from its
   * source key, encrypted anew for its destination key, under the tenant's current CMK. A
   * server-side copy cannot work, because the message AAD binds the object to its bucket and key.
   * The request's {@link RequestEncryption} settings apply to both the source and the destination.
   * With the {@code COPY} metadata directive (the default) user metadata and content headers come
   * from the source; tags are copied unless the tagging directive is {@code REPLACE}. ACLs, object
   * lock settings and the storage class come from the request only. A plaintext source (with legacy
   * reads allowed) is encrypted at its destination.
   *
   * <p>The result carries the new ETag and version id; its {@code lastModified} is not set.
   */
  @Override
  public CopyObjectResponse copyObject(CopyObjectRequest request) {
    return copies.copyObject(request);
  }

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
   * tags, moves SSE-KMS to the current CMK when S3 held the object under one of the tenant's old
   * CMKs, and is verified by reading the new header back before it counts as done.
   *
   * <p><b>Preconditions.</b> The {@link com.panops.crypto.TenantDirectory} must list the new CMK as
   * current and the old one as decrypt-only, and <em>every writer</em> must already use it: a
   * writer that still encrypts under the old CMK can write behind the listing cursor. The run
   * therefore ends with a check: objects under the prefix modified since shortly before the run
   * began (and not rewritten by it) are read again, and any still under another CMK are listed in
   * {@link RewrapResult#stillUnderOldKeys()}; {@link RewrapResult#complete()} is true only when
   * that list and the failures are empty.
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
    return rewraps.rewrapPrefix(bucket, prefix, listener);
  }

  /**
   * As {@link #rewrapPrefix(String, String, RewrapListener)}, starting after the key {@code
   * startAfter} (a previous run's {@link RewrapResult#lastKey()}), or from the start if null.
   */
  public RewrapResult rewrapPrefix(
      String bucket, String prefix, String startAfter, RewrapListener listener) {
    return rewraps.rewrapPrefix(bucket, prefix, startAfter, listener);
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
    return rewraps.rewrapObject(bucket, key);
  }

  // =================================================================== refused

  /** Refused: it would store plaintext. {@code putObject} does multipart uploads itself. */
  @Override
  public CreateMultipartUploadResponse createMultipartUpload(CreateMultipartUploadRequest request) {
    throw Refused.operation("createMultipartUpload");
  }

  /** Refused: it would store plaintext. {@code putObject} does multipart uploads itself. */
  @Override
  public UploadPartResponse uploadPart(UploadPartRequest request, RequestBody body) {
    throw Refused.operation("uploadPart");
  }

  /** Refused: parts of encrypted objects cannot be spliced into another. */
  @Override
  public UploadPartCopyResponse uploadPartCopy(UploadPartCopyRequest request) {
    throw Refused.operation("uploadPartCopy");
  }

  /** Refused: {@code putObject} does multipart uploads itself. */
  @Override
  public CompleteMultipartUploadResponse completeMultipartUpload(
      CompleteMultipartUploadRequest request) {
    throw Refused.operation("completeMultipartUpload");
  }

  /** Refused: a torrent would serve the ciphertext. */
  @Override
  public <ReturnT> ReturnT getObjectTorrent(
      GetObjectTorrentRequest request,
      ResponseTransformer<GetObjectTorrentResponse, ReturnT> transformer) {
    throw Refused.operation("getObjectTorrent");
  }

  /**
   * Refused: a rename keeps the bytes but changes the key, and the message AAD binds each object to
   * its key, so the renamed object would no longer decrypt. Copy it ({@link #copyObject}) and
   * delete the source instead.
   */
  @Override
  public RenameObjectResponse renameObject(RenameObjectRequest request) {
    throw Refused.operation("renameObject", "copyObject then deleteObject");
  }

  /** Refused: an Object Lambda response carries the caller's bytes to S3 unencrypted. */
  @Override
  public WriteGetObjectResponseResponse writeGetObjectResponse(
      WriteGetObjectResponseRequest request, RequestBody body) {
    throw Refused.operation("writeGetObjectResponse", "putObject");
  }

  /** Refused: an annotation would store the caller's bytes unencrypted. */
  @Override
  public PutObjectAnnotationResponse putObjectAnnotation(
      PutObjectAnnotationRequest request, RequestBody body) {
    throw Refused.operation("putObjectAnnotation", "putObject");
  }

  @Override
  public String toString() {
    return "EncryptingS3Client[" + settings + "]";
  }

  // =================================================================== builder

  /**
   * Builds an {@link EncryptingS3Client}. Required: {@link #s3Client}, and exactly one of {@link
   * #crypto} with {@link #tenant}, or {@link #tenantCrypto}. Not thread-safe.
   */
  public static final class Builder {
    private S3Client s3;
    private PanopsCrypto crypto;
    private String tenantId;
    private TenantCrypto tenantCrypto;
    private KeyContext keyContext = ClientSettings.DEFAULT_KEY_CONTEXT;
    private boolean sseKms;
    private boolean legacyPlaintextReads;
    private boolean allowInsecureLocalEndpoint;
    private long multipartThreshold = ClientSettings.DEFAULT_MULTIPART_THRESHOLD;
    private long partSize = ClientSettings.DEFAULT_PART_SIZE;

    private Builder() {}

    /** The client to decorate (built by the caller, with its own credentials and endpoint). */
    public Builder s3Client(S3Client client) {
      this.s3 = Objects.requireNonNull(client, "client");
      return this;
    }

    /** The library instance; with {@link #tenant}. */
    public Builder crypto(PanopsCrypto crypto) {
      this.crypto = Objects.requireNonNull(crypto, "crypto");
      return this;
    }

    /**
     * The tenant whose keys encrypt. Looked up in the crypto's directory on every operation, so a
     * key rotation in the directory is seen at once (and {@link #rewrapPrefix} moves to it).
     */
    public Builder tenant(String tenantId) {
      this.tenantId = Objects.requireNonNull(tenantId, "tenantId");
      return this;
    }

    /** Instead of {@link #crypto} and {@link #tenant}: a tenant with fixed keys. */
    public Builder tenantCrypto(TenantCrypto tenant) {
      this.tenantCrypto = Objects.requireNonNull(tenant, "tenant");
      return this;
    }

    /**
     * The key context of every request that does not set its own (see {@link RequestEncryption});
     * default {@code service=s3}. Coarse on purpose: it selects the cached data key and shows in
     * the customer's CloudTrail.
     */
    public Builder keyContext(KeyContext kc) {
      this.keyContext = Objects.requireNonNull(kc, "keyContext");
      return this;
    }

    /**
     * What S3 is asked to add at rest beneath the client-side layer; default {@link
     * ServerSideLayer#BUCKET_DEFAULT}.
     */
    public Builder serverSideLayer(ServerSideLayer layer) {
      this.sseKms = Objects.requireNonNull(layer, "layer") == ServerSideLayer.SSE_KMS;
      return this;
    }

    /**
     * {@code serverSideLayer(on ? SSE_KMS : BUCKET_DEFAULT)}.
     *
     * @deprecated a boolean does not say what the mode is; use {@link
     *     #serverSideLayer(ServerSideLayer)}
     */
    @Deprecated(since = "0.3.0")
    public Builder sseKms(boolean on) {
      return serverSideLayer(on ? ServerSideLayer.SSE_KMS : ServerSideLayer.BUCKET_DEFAULT);
    }

    /**
     * Lets reads return objects that carry no panops marker as they are stored (unauthenticated
     * plaintext), for buckets being migrated. Off by default: such a read is an {@link
     * S3EncryptionException}.
     */
    public Builder allowLegacyPlaintextReads() {
      this.legacyPlaintextReads = true;
      return this;
    }

    /**
     * Accepts a plain-HTTP S3 endpoint on a loopback address (S3Mock in tests, local runs). Without
     * this, a client whose endpoint override is not HTTPS is refused by {@link #build()}.
     */
    public Builder allowInsecureLocalS3Endpoint() {
      this.allowInsecureLocalEndpoint = true;
      return this;
    }

    /**
     * Bodies of known length larger than this (ciphertext bytes) go by multipart upload; 5 MiB to 5
     * GiB, default 100 MiB. Unknown lengths always take the multipart path.
     */
    public Builder multipartThreshold(long bytes) {
      this.multipartThreshold = ClientSettings.checkMultipartThreshold(bytes);
      return this;
    }

    /**
     * Multipart part size: 5 MiB to 512 MiB, default 8 MiB; one part is held in memory per upload.
     * Raised automatically for objects that would need more than 10,000 parts.
     */
    public Builder multipartPartSize(long bytes) {
      this.partSize = ClientSettings.checkPartSize(bytes);
      return this;
    }

    /**
     * Builds the client.
     *
     * @throws IllegalStateException if a required setting is missing or settings conflict
     * @throws IllegalArgumentException if the S3 client's endpoint is plain HTTP without {@link
     *     #allowInsecureLocalS3Endpoint()}, or plain HTTP and not a loopback address
     */
    public EncryptingS3Client build() {
      WrappedClientRules.requireWrappable(s3);
      ClientSettings settings =
          new ClientSettings(
              ClientSettings.tenantSource(crypto, tenantId, tenantCrypto),
              keyContext,
              sseKms,
              legacyPlaintextReads,
              multipartThreshold,
              partSize);
      WrappedClientRules.checkEndpoint(s3, allowInsecureLocalEndpoint);
      return new EncryptingS3Client(s3, settings);
    }
  }
}
