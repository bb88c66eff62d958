package com.panops.crypto;

import static com.panops.crypto.format.MessageFormat.SUITE_AES256_GCM_COMMIT;

import com.panops.crypto.cache.DataKeyCache;
import com.panops.crypto.cache.DecryptKey;
import com.panops.crypto.cache.EncryptionKey;
import com.panops.crypto.cache.RefusedCiphertexts;
import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.format.DecryptingInputStream;
import com.panops.crypto.format.EncryptingOutputStream;
import com.panops.crypto.format.FrameCipher;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageFormat;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.kms.KmsGateway;
import com.panops.crypto.revocation.FailureRules;
import com.panops.crypto.revocation.KeyState;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Encryption and decryption for one tenant, under its {@link TenantKeys}. Obtain from {@link
 * PanopsCrypto#tenant(String)}.
 *
 * <p>Every operation takes a {@link KeyContext} (coarse; sent to KMS; selects the cached data key)
 * and a {@link MessageAad} (fine; authenticated in the message; never sent to KMS). Decryption must
 * be given the same two as encryption.
 *
 * <p>Errors: {@link IntegrityException} for any ciphertext that does not authenticate (including a
 * ciphertext of another tenant, or a wrong key context or AAD); {@link KeyRevokedException} when
 * the CMK is latched as revoked (or KMS just refused a {@code Decrypt}); {@link
 * KmsUnavailableException} when KMS could not give an answer the library can act on (encryption
 * needed a data key and KMS is unavailable; a probe this request had to wait for did not finish in
 * time; the thread was interrupted during a KMS call); {@link IllegalArgumentException} and {@link
 * NullPointerException} for caller mistakes; {@link IllegalStateException} when the {@link
 * PanopsCrypto} is closed, or its KMS client is misconfigured (a request that would not go over
 * HTTPS, or a client whose requests bypass that check). Streams throw the same unchecked types from
 * {@code read}/{@code write}, and {@link IOException} for I/O and for a write after a failed one.
 *
 * <p>Thread-safe: every method may be called concurrently. The streams returned are not thread-safe
 * (one thread at a time per stream).
 */
public final class TenantCrypto {
  private static final String PURPOSE = "data-key";

  private final PanopsCrypto root;
  private final String tenantId;
  final TenantKeys keys;
  private final byte[] currentArnUtf8;
  private final byte[] tenantUtf8;

  TenantCrypto(PanopsCrypto root, String tenantId, TenantKeys keys) {
    this.root = root;
    this.tenantId = tenantId;
    this.keys = keys;
    this.currentArnUtf8 = keys.currentKeyArn().getBytes(StandardCharsets.UTF_8);
    this.tenantUtf8 = tenantId.getBytes(StandardCharsets.UTF_8);
  }

  /** The tenant id. */
  public String tenantId() {
    return tenantId;
  }

  /** The keys this object uses. */
  public TenantKeys keys() {
    return keys;
  }

  // ------------------------------------------------------------------ byte[]

  /**
   * Encrypts {@code plaintext} under the tenant's current CMK. Usually served from the cache: no
   * KMS call, no lock.
   *
   * @return a new array holding the whole message (header and frames)
   * @throws KeyRevokedException if the current CMK is latched as revoked
   * @throws KmsUnavailableException if a data key was needed and KMS could not give one
   */
  public byte[] encrypt(byte[] plaintext, KeyContext keyContext, MessageAad aad) {
    Objects.requireNonNull(plaintext, "plaintext");
    Objects.requireNonNull(keyContext, "keyContext");
    Objects.requireNonNull(aad, "aad");
    int fs = root.frameSize;
    long frames = plaintext.length == 0 ? 1 : (plaintext.length + (long) fs - 1) / fs;
    KeyState s = root.revocations.state(keys.currentKeyArn(), tenantId);
    EncryptionKey ek = acquire(s, keyContext, plaintext.length, frames, false);
    try {
      return FrameCipher.encrypt(
          ek.key(),
          ek.template(),
          ek.boundLength(),
          fs,
          aad.canonical,
          plaintext,
          0,
          plaintext.length);
    } finally {
      ek.key().release();
    }
  }

  /**
   * Decrypts and authenticates a whole message. The key context and AAD must be those it was
   * encrypted with.
   *
   * @return a new array holding the plaintext; nothing is returned unless every frame verified
   * @throws IntegrityException if the message does not authenticate, or KMS refused this message's
   *     data key while a probe shows the CMK alive (a tampered encrypted data key)
   * @throws KeyRevokedException if its CMK is latched as revoked, or KMS refused to decrypt its
   *     data key for a reason about the key (which latches it)
   * @throws KmsUnavailableException if the CMK's liveness could not be confirmed in time, or the
   *     thread was interrupted during a KMS call
   */
  public byte[] decrypt(byte[] ciphertext, KeyContext keyContext, MessageAad aad) {
    Objects.requireNonNull(ciphertext, "ciphertext");
    Objects.requireNonNull(keyContext, "keyContext");
    Objects.requireNonNull(aad, "aad");
    if (ciphertext.length > 0 && (ciphertext[0] & 0xFF) == CompactFormat.VERSION) {
      return decryptCompact(ciphertext, keyContext, aad);
    }
    MessageHeader h = MessageHeader.parse(ciphertext, 0, ciphertext.length);
    KeyState s = stateForHeader(h);
    root.revocations.beforeUse(s);
    if (!h.keyContextEquals(keyContext.canonical)) {
      throw new IntegrityException();
    }
    FrameKey fk = leaseDecryptionKey(s, h, keyContext);
    byte[] out;
    try {
      out = FrameCipher.decrypt(fk, h, aad.canonical, ciphertext, 0, ciphertext.length);
    } finally {
      fk.release();
    }
    return releaseUnlessLatched(s, out);
  }

  /** After a decryption: the plaintext, unless the key was latched (or closed) meanwhile. */
  private byte[] releaseUnlessLatched(KeyState s, byte[] out) {
    KeyRevokedException latched = s.revocation(); // one read: the latch may be lifted meanwhile
    if (latched != null || root.isClosed()) {
      Arrays.fill(out, (byte) 0); // latched (or closed) while we worked: release nothing
      if (latched != null) {
        throw latched;
      }
      root.revocations.checkOpen(); // closed: throws (a close is never undone)
    }
    return out;
  }

  // ------------------------------------------------------------------ compact values

  /** Whether this tenant's {@link PanopsCrypto} has a {@link DataKeyRegistry} (compact values). */
  public boolean compactAvailable() {
    return root.rows != null;
  }

  /**
   * Encrypts {@code plaintext} (at most {@value CompactFormat#MAX_PLAINTEXT} bytes) as a compact
   * value (docs/FORMAT.md, "Compact values"): {@value CompactFormat#OVERHEAD} bytes of overhead;
   * the value refers to its data key by a key id registered in the {@link DataKeyRegistry}. When
   * the cache needs a new data key, it is registered (one registry insert) before any value uses
   * it. Decrypt with {@link #decrypt}, which reads both formats.
   *
   * @throws IllegalStateException if no registry is configured
   * @throws IllegalArgumentException if the plaintext is too long for a compact value
   * @throws KeyRevokedException if the current CMK is latched as revoked
   * @throws KmsUnavailableException if a data key was needed and KMS could not give one
   * @throws DataKeyRegistryException if a data key was needed and could not be registered
   */
  public byte[] encryptCompact(byte[] plaintext, KeyContext keyContext, MessageAad aad) {
    Objects.requireNonNull(plaintext, "plaintext");
    Objects.requireNonNull(keyContext, "keyContext");
    Objects.requireNonNull(aad, "aad");
    if (root.rows == null) {
      throw new IllegalStateException("compact values need a DataKeyRegistry (builder)");
    }
    if (plaintext.length > CompactFormat.MAX_PLAINTEXT) {
      throw new IllegalArgumentException(
          "a compact value holds at most " + CompactFormat.MAX_PLAINTEXT + " bytes");
    }
    KeyState s = root.revocations.state(keys.currentKeyArn(), tenantId);
    EncryptionKey ek = acquire(s, keyContext, plaintext.length, 1, true);
    try {
      return CompactFormat.seal(
          ek.key(), ek.keyId(), ek.compactContext(), aad.canonical, plaintext, 0, plaintext.length);
    } finally {
      ek.key().release();
    }
  }

  /**
   * A registry row was refused in a way a newer version of the row may cure (it names a CMK this
   * tenant no longer uses, or that CMK is latched while the row may have been re-wrapped since).
   */
  private static final class StaleRow extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient RuntimeException failure;

    StaleRow(RuntimeException failure) {
      super(null, null, false, false);
      this.failure = failure;
    }
  }

  private byte[] decryptCompact(byte[] value, KeyContext kc, MessageAad aad) {
    long keyId = CompactFormat.keyId(value);
    RegistryRows rows = root.rows;
    if (rows == null) {
      throw new IntegrityException(); // cannot be authenticated here
    }
    root.revocations.checkOpen();
    RegistryRows.Row r = rows.get(tenantId, keyId);
    if (r == null) {
      throw new RegisteredKeyException(keyId, true, null, null);
    }
    try {
      return decryptWithRow(r, keyId, value, kc, aad);
    } catch (StaleRow stale) {
      // The cached row may be older than the registry's (re-wrapped to a new CMK by a migration,
      // or repaired): read it once more. An unchanged row fails as it did.
      RegistryRows.Row again = rows.fresh(tenantId, keyId);
      if (again == null) {
        throw new RegisteredKeyException(keyId, true, null, null);
      }
      if (again.row.sameAs(r.row)) {
        throw stale.failure;
      }
      try {
        return decryptWithRow(again, keyId, value, kc, aad);
      } catch (StaleRow s2) {
        throw s2.failure;
      }
    }
  }

  private byte[] decryptWithRow(
      RegistryRows.Row r, long keyId, byte[] value, KeyContext kc, MessageAad aad) {
    RegisteredDataKey row = r.row;
    if (!row.tenantId().equals(tenantId)
        || row.keyId() != keyId
        || row.suite() != CompactFormat.SUITE) {
      throw new StaleRow(
          new RegisteredKeyException(keyId, false, "tenant, key id or suite differs", null));
    }
    if (!Arrays.equals(row.keyContextRef(), kc.canonical)) {
      throw new IntegrityException(); // presented under another key context (no KMS call)
    }
    KeyState s = stateForArn(row.keyArn());
    if (s == null) {
      throw new StaleRow(
          new RegisteredKeyException(
              keyId, false, "it names a KMS key this tenant may not use", null));
    }
    boolean current = row.keyArn().equals(keys.currentKeyArn());
    FrameKey fk;
    try {
      root.revocations.beforeUse(s);
      byte[] edk = row.edkRef();
      fk = leaseDecryptionKey(s, kc, CompactFormat.SUITE, edk, 0, edk.length);
    } catch (KeyRevokedException e) {
      if (current) {
        throw e; // the kill switch: a row under the current CMK is not re-read
      }
      throw new StaleRow(e);
    } catch (IntegrityException e) {
      throw new StaleRow(
          new RegisteredKeyException(
              keyId, false, "KMS refused its wrapped data key while the CMK is alive", e));
    }
    byte[] out;
    try {
      if (r.verifiedFor != fk) {
        byte[] c = CompactFormat.commitment(fk, keyId, r.context);
        if (!CompactFormat.commitmentEquals(c, row.commitmentRef())) {
          throw new StaleRow(
              new RegisteredKeyException(
                  keyId, false, "its data key does not match its commitment", null));
        }
        r.verifiedFor = fk;
      }
      out = CompactFormat.open(fk, value, r.context, aad.canonical);
    } finally {
      fk.release();
    }
    return releaseUnlessLatched(s, out);
  }

  /**
   * Re-wraps a registry row's data key under the tenant's current CMK with KMS {@code ReEncrypt}
   * (the data key never enters this process) and returns the new row (same key id, key context and
   * commitment; new CMK and wrapped key). Returns {@code row} itself when it is already under the
   * current CMK. Every value referring to the row stays readable without being touched.
   *
   * @throws RegisteredKeyException if the row is not this tenant's, names a CMK the tenant may not
   *     use, or its key context is malformed
   * @throws KeyRevokedException if either CMK is latched or refuses the call
   */
  public RegisteredDataKey rewrapRegisteredKey(RegisteredDataKey row) {
    Objects.requireNonNull(row, "row");
    if (!row.tenantId().equals(tenantId) || row.suite() != CompactFormat.SUITE) {
      throw new RegisteredKeyException(row.keyId(), false, "tenant or suite differs", null);
    }
    KeyState src = stateForArn(row.keyArn());
    if (src == null) {
      throw new RegisteredKeyException(
          row.keyId(), false, "it names a KMS key this tenant may not use", null);
    }
    KeyContext kc = KeyContext.fromCanonical(row.keyContextRef());
    if (kc == null) {
      throw new RegisteredKeyException(row.keyId(), false, "malformed key context", null);
    }
    if (row.keyArn().equals(keys.currentKeyArn())) {
      return row;
    }
    byte[] edk = reEncrypt(src, CompactFormat.SUITE, row.edkRef(), kc);
    return row.withKeyReference(keys.currentKeyArn(), edk);
  }

  private KeyState stateForArn(String arn) {
    List<String> all = keys.allKeyArns();
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).equals(arn)) {
        return root.revocations.state(all.get(i), tenantId);
      }
    }
    return null;
  }

  // ------------------------------------------------------------------ streams

  /**
   * A stream that encrypts everything written to it as one framed message into {@code out}. Memory
   * is two frames whatever the size. {@link OutputStream#close()} finishes the message and closes
   * {@code out}; a message whose stream was not closed does not decrypt. A revocation latched while
   * the stream is open makes its next frame fail with {@link KeyRevokedException}.
   */
  public OutputStream encryptingStream(OutputStream out, KeyContext keyContext, MessageAad aad) {
    Objects.requireNonNull(out, "out");
    Objects.requireNonNull(keyContext, "keyContext");
    Objects.requireNonNull(aad, "aad");
    KeyState s = root.revocations.state(keys.currentKeyArn(), tenantId);
    EncryptionKey ek = acquire(s, keyContext, 0, 0, false);
    try {
      return new EncryptingOutputStream(
          out,
          ek.key(),
          ek.template(),
          ek.boundLength(),
          root.frameSize,
          aad.canonical,
          plaintextBytes -> {
            root.revocations.beforeUse(s);
            if (!ek.tryFrame(plaintextBytes)) {
              throw new IOException(
                  "the data key reached its hard limit of "
                      + EncryptionKey.MAX_INVOCATIONS
                      + " frames; the message is incomplete and will not decrypt");
            }
          });
    } catch (RuntimeException e) {
      ek.key().release();
      throw e;
    }
  }

  /**
   * A stream of the plaintext of the message read from {@code in}. The header is read (and the data
   * key obtained) before this returns; frames are read, authenticated and released one at a time,
   * so no byte is returned before its frame verified, and memory is about two frames. The end of
   * {@code in} marks the end of the message; a truncated, extended or reordered message fails with
   * {@link IntegrityException} (unchecked, thrown by {@code read}).
   *
   * @throws IOException if reading the header fails
   */
  public InputStream decryptingStream(InputStream in, KeyContext keyContext, MessageAad aad)
      throws IOException {
    Objects.requireNonNull(in, "in");
    Objects.requireNonNull(keyContext, "keyContext");
    Objects.requireNonNull(aad, "aad");
    MessageHeader h = MessageHeader.read(in);
    return open(h, in, keyContext, aad, 0, -1, -1);
  }

  /**
   * Authenticated random access: a stream of the plaintext of frames {@code firstFrame..lastFrame}
   * of a message of {@code ciphertextLength} bytes whose header is {@code header}, read from {@code
   * frames}, which must start at {@link MessageHeader#frameOffset(long) frameOffset(firstFrame)}
   * and end after frame {@code lastFrame}. Used by adapters to serve byte ranges without reading
   * the whole message. Every frame is authenticated before its bytes are returned.
   *
   * @throws IntegrityException if the header or length is not valid
   */
  public InputStream decryptFrames(
      MessageHeader header,
      long ciphertextLength,
      long firstFrame,
      long lastFrame,
      InputStream frames,
      KeyContext keyContext,
      MessageAad aad) {
    Objects.requireNonNull(header, "header");
    Objects.requireNonNull(frames, "frames");
    Objects.requireNonNull(keyContext, "keyContext");
    Objects.requireNonNull(aad, "aad");
    long n = header.frameCount(ciphertextLength);
    if (firstFrame < 0 || lastFrame < firstFrame || lastFrame >= n) {
      throw new IllegalArgumentException("frame range out of bounds");
    }
    return open(header, frames, keyContext, aad, firstFrame, lastFrame, n - 1);
  }

  private InputStream open(
      MessageHeader h,
      InputStream in,
      KeyContext keyContext,
      MessageAad aad,
      long first,
      long last,
      long finalIndex) {
    KeyState s = stateForHeader(h);
    root.revocations.beforeUse(s);
    if (!h.keyContextEquals(keyContext.canonical)) {
      throw new IntegrityException();
    }
    FrameKey fk = leaseDecryptionKey(s, h, keyContext);
    try {
      return new DecryptingInputStream(
          in, fk, h, aad.canonical, first, last, finalIndex, () -> root.revocations.beforeUse(s));
    } catch (RuntimeException e) {
      fk.release();
      throw e;
    }
  }

  // ------------------------------------------------------------------ re-wrap

  /**
   * Re-wraps a message's data key under the tenant's current CMK with KMS {@code ReEncrypt} (the
   * data key never enters this process) and returns the new header. The body of the message is
   * unchanged and still verifies under the new header. Returns a copy of the old header when the
   * message is already under the current CMK.
   *
   * @throws IntegrityException if the header is malformed, names a key this tenant may not use, or
   *     carries another key context
   * @throws KeyRevokedException if either CMK is latched or refuses the call
   */
  public byte[] rewrapHeader(MessageHeader header, KeyContext keyContext) {
    Objects.requireNonNull(header, "header");
    Objects.requireNonNull(keyContext, "keyContext");
    KeyState src = stateForHeader(header);
    if (!header.keyContextEquals(keyContext.canonical)) {
      throw new IntegrityException();
    }
    if (header.keyArnEquals(currentArnUtf8)) {
      return header.toByteArray();
    }
    byte[] edk = reEncrypt(src, SUITE_AES256_GCM_COMMIT, header.encryptedDataKey(), keyContext);
    return header.withKeyReference(currentArnUtf8, edk);
  }

  /**
   * KMS {@code ReEncrypt} of {@code edk} (of {@code suite}) from {@code src} to the current CMK.
   *
   * <p>A refusal about this ciphertext (InvalidCiphertext, IncorrectKey, or a customer-action error
   * that names a third key, as for an encrypted data key altered to refer to another key) is
   * remembered (apart from Decrypt's refusals) and judged by a spaced probe of {@code src}, as for
   * a data-key Decrypt: re-running a re-wrap over a bad row costs no KMS call. A customer-action
   * error that names {@code src} or {@code dst} latches that key after fresh probes of both, even
   * if its probe succeeded (a policy granting Decrypt but not ReEncrypt*, a key enabled again
   * meanwhile): a KeyRevokedException always means a latch. One that names no key cannot be
   * attributed (AWS's "The ciphertext refers to a customer master key that does not exist ... or
   * you are not allowed to access"): unless a probe latches, it fails this call only.
   */
  private byte[] reEncrypt(KeyState src, int suite, byte[] edk, KeyContext keyContext) {
    KeyState dst = root.revocations.state(keys.currentKeyArn(), tenantId);
    root.revocations.beforeUse(src);
    root.revocations.beforeUse(dst);
    DecryptKey view =
        DecryptKey.view(
            tenantId,
            src.arn(),
            suite,
            keyContext.canonical,
            keyContext.hashCode(),
            edk,
            0,
            edk.length);
    RefusedCiphertexts.Refusal known = root.rewrapRefusals.find(view);
    if (known != null && known.judged()) {
      root.rewrapRefusals.readRefused(view, true);
      throw new IntegrityException(
          "KMS refused to re-wrap this ciphertext's data key ("
              + known.refusal().errorCode()
              + "); remembered, not asked again",
          null);
    }
    KmsCallException e;
    if (known != null) {
      e = known.refusal(); // refused a moment ago; its judgement may still be running
    } else {
      try {
        return root.kms.reEncrypt(
            tenantId, src.arn(), dst.arn(), edk, kmsContext(keyContext), "re-wrap");
      } catch (KmsCallException refused) {
        e = refused;
      }
    }
    Throwable cause = e.getCause() != null ? e.getCause() : e;
    if (FailureRules.reEncryptAboutTheCiphertext(e, src.arn(), dst.arn())) {
      if (known == null && !e.interrupted()) {
        root.rewrapRefusals.remember(view.owned(), e);
      }
      RuntimeException thrown = root.revocations.onDataKeyFailure(src, e, true);
      if (thrown instanceof IntegrityException) {
        root.rewrapRefusals.judge(view);
        root.rewrapRefusals.readRefused(view, known != null);
      }
      throw thrown;
    }
    root.revocations.probeFresh(src);
    root.revocations.probeFresh(dst);
    src.checkNotRevoked();
    dst.checkNotRevoked();
    if (e.reason().isCustomerAction()) {
      RuntimeException thrown = null;
      if (e.kmsMessageNames(src.arn())) {
        thrown = root.revocations.onCustomerRefusal(src, e);
      }
      if (e.kmsMessageNames(dst.arn())) {
        RuntimeException d = root.revocations.onCustomerRefusal(dst, e);
        thrown = thrown == null ? d : thrown;
      }
      if (thrown != null) {
        throw thrown;
      }
      throw new KmsUnavailableException(
          "KMS refused ReEncrypt ("
              + e.errorCode()
              + ") naming neither KMS key, though both answered probes: the key policies may not"
              + " grant kms:ReEncrypt* to this role",
          cause);
    }
    throw new KmsUnavailableException("KMS ReEncrypt failed (" + e.errorCode() + ")", cause);
  }

  // ------------------------------------------------------------------ internals

  /**
   * A KMS failure inside a cache load, carried out of the cache's compute so that it is handled
   * (latch, purge, probe) outside it: purging the cache from inside its own compute could hit the
   * entry being computed, and waiting for a probe there would hold the cache's bin lock.
   */
  private static final class LoadFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final transient KmsCallException kms;

    /** Whether {@link #kms} is a remembered refusal (see RefusedCiphertexts): no call was made. */
    final boolean remembered;

    LoadFailure(KmsCallException kms) {
      this(kms, false);
    }

    LoadFailure(KmsCallException kms, boolean remembered) {
      super(null, null, false, false);
      this.kms = kms;
      this.remembered = remembered;
    }
  }

  /**
   * An encrypt-side key with a lease taken on its data key (the caller releases it), reserved for
   * one message of {@code bytes} and {@code frames}. Entries from an older revocation epoch, spent
   * entries and entries retired by a purge are dropped and another is loaded.
   */
  private EncryptionKey acquire(
      KeyState s, KeyContext kc, long bytes, long frames, boolean compact) {
    root.revocations.beforeUse(s);
    DataKeyCache.EncryptSlot slot =
        new DataKeyCache.EncryptSlot(tenantId, s.arn(), compact ? new CompactSlot(kc) : kc);
    for (int attempt = 0; attempt < 8; attempt++) {
      EncryptionKey ek = root.cache.encryptKeyIfPresent(slot);
      if (ek == null) {
        root.metrics.cacheMiss("encrypt");
        try {
          ek = root.cache.encryptKey(slot, k -> loadEncryptionKey(s, kc, compact));
        } catch (LoadFailure f) {
          throw root.revocations.onDataKeyFailure(s, f.kms, false);
        }
      } else {
        root.metrics.cacheHit("encrypt");
      }
      long now = root.cache.now();
      boolean current = ek.epoch() == s.epoch();
      if (current && !ek.expired(now) && ek.tryUse(bytes, frames) && ek.key().tryLease()) {
        // refresh ahead: near a limit, the successor is loaded in the background
        root.cache.refreshIfDue(slot, ek, now, () -> refreshEncryptionKey(s, kc, compact));
        return ek;
      }
      if (current) {
        // its successor takes over if ready (its load is run here if still queued, or waited for
        // at most the probe timeout if running), else it is dropped
        root.cache.handOver(slot, ek, root.probeSettings.timeout());
      } else {
        root.cache.retire(slot, ek); // from before a latch: never served, nor its successor
      }
    }
    // Limits so small (or purges so frequent) that concurrent threads keep exhausting fresh keys:
    // use a key of our own, not cached. Its owner reference is given up at once, so its bytes are
    // zeroed when the caller releases its lease.
    EncryptionKey own;
    try {
      own = loadEncryptionKey(s, kc, compact);
    } catch (LoadFailure f) {
      throw root.revocations.onDataKeyFailure(s, f.kms, false);
    }
    own.tryUse(bytes, frames);
    if (!own.key().tryLease()) {
      throw new IllegalStateException("a fresh data key could not be leased");
    }
    own.key().retire();
    return own;
  }

  /** The encrypt-side slot of compact keys: separate from version 1 keys of the same context. */
  private record CompactSlot(KeyContext keyContext) {}

  /**
   * The background load of an encrypt-side key's successor (refresh ahead): the same rules as a
   * request's load (a latched key is not loaded; an answer after a latch is discarded; a KMS
   * failure is handled, and latches, as a request's would), but nothing is thrown: {@code null}
   * instead.
   */
  private EncryptionKey refreshEncryptionKey(KeyState s, KeyContext kc, boolean compact) {
    if (s.isRevoked() || root.isClosed()) {
      return null;
    }
    try {
      return loadEncryptionKey(s, kc, compact);
    } catch (LoadFailure f) {
      root.revocations.onDataKeyFailure(s, f.kms, false);
      return null;
    } catch (RuntimeException latchedOrClosed) {
      return null;
    }
  }

  /** As {@link #refreshEncryptionKey}, for a decrypt-side entry (KMS {@code Decrypt} again). */
  private DataKeyCache.DecryptEntry refreshDecryptionKey(KeyState s, DecryptKey k, KeyContext kc) {
    if (s.isRevoked() || root.isClosed()) {
      return null;
    }
    try {
      return loadDecryptionKey(s, k, kc);
    } catch (LoadFailure f) {
      root.revocations.onDataKeyFailure(s, f.kms, true);
      return null;
    } catch (RuntimeException latchedOrClosed) {
      return null;
    }
  }

  private EncryptionKey loadEncryptionKey(KeyState s, KeyContext kc, boolean compact) {
    root.revocations.checkOpen();
    s.checkNotRevoked();
    long epoch = s.epoch();
    KmsGateway.DataKey dk;
    try {
      dk = root.kms.generateDataKey(tenantId, s.arn(), kmsContext(kc), PURPOSE);
    } catch (KmsCallException e) {
      throw new LoadFailure(e);
    }
    try {
      checkLoaded(s, epoch);
      FrameKey fk = FrameKey.of(dk.plaintext(), SUITE_AES256_GCM_COMMIT);
      if (compact) {
        return registerCompact(s, kc, fk, dk.encrypted(), epoch);
      }
      byte[] template =
          MessageHeader.encodeTemplate(
              root.frameSize,
              fk,
              kc.canonical,
              tenantUtf8,
              s.arn().getBytes(StandardCharsets.UTF_8),
              dk.encrypted());
      byte[] edk = dk.encrypted();
      seedDecrypt(
          s,
          DecryptKey.view(
                  tenantId,
                  s.arn(),
                  SUITE_AES256_GCM_COMMIT,
                  kc.canonical,
                  kc.hashCode(),
                  edk,
                  0,
                  edk.length)
              .owned(),
          new DataKeyCache.DecryptEntry(fk.copy(), epoch));
      return new EncryptionKey(
          fk,
          template,
          MessageHeader.boundLength(kc.canonical.length, tenantUtf8.length),
          s.arn(),
          root.cacheSettings.encryptMaxMessages(),
          root.cacheSettings.encryptMaxBytes(),
          epoch);
    } finally {
      KmsGateway.wipe(dk.plaintext());
    }
  }

  /**
   * Registers a data key just generated for compact values (one registry insert, a fresh random key
   * id per attempt) and makes its encrypt-side entry; seeds the decrypt side and the row cache so
   * that reading back what this process wrote needs neither KMS nor the registry. Called at the
   * data-key load point only.
   */
  private EncryptionKey registerCompact(
      KeyState s, KeyContext kc, FrameKey fk, byte[] edk, long epoch) {
    byte[] ctx = CompactFormat.context(tenantUtf8, kc.canonical);
    RegisteredDataKey row = null;
    try {
      byte[] idBytes = new byte[CompactFormat.KEY_ID_LENGTH];
      for (int attempt = 0; attempt < 4 && row == null; attempt++) {
        FrameCipher.randomBytes(idBytes, 0, idBytes.length);
        long id = 0;
        for (byte b : idBytes) {
          id = (id << 8) | (b & 0xFF);
        }
        RegisteredDataKey candidate =
            new RegisteredDataKey(
                tenantId,
                id,
                s.arn(),
                edk,
                kc.canonical,
                CompactFormat.SUITE,
                CompactFormat.commitment(fk, id, ctx),
                root.clock.instant());
        if (root.rows.register(candidate)) {
          row = candidate;
        }
      }
      if (row == null) {
        throw new DataKeyRegistryException("no free key id after 4 attempts", null);
      }
    } catch (RuntimeException e) {
      fk.retire();
      throw e;
    }
    root.rows.seed(row);
    seedDecrypt(
        s,
        DecryptKey.view(
                tenantId,
                s.arn(),
                CompactFormat.SUITE,
                kc.canonical,
                kc.hashCode(),
                edk,
                0,
                edk.length)
            .owned(),
        new DataKeyCache.DecryptEntry(fk.copy(), epoch));
    return new EncryptionKey(
        fk,
        new byte[0],
        0,
        s.arn(),
        root.cacheSettings.encryptMaxMessages(),
        root.cacheSettings.encryptMaxBytes(),
        epoch,
        row.keyId(),
        ctx);
  }

  /**
   * Seeds the decrypt side with a copy of a data key just generated, then checks the epoch again. A
   * latch set after the load's own epoch check but before this insertion purged the cache before
   * the copy was there, and nobody would ever look the copy up (its encrypted data key is in no
   * ciphertext yet): it would keep live key bytes until its age. The epoch is volatile and a latch
   * moves it before it purges, so either this check sees the new epoch and drops the copy, or the
   * purge comes after the insertion and removes it. (For a compact key the window spans the
   * registry insert, a database round trip; found by an attacker harness, {@code
   * SeedAcrossLatchTest}.)
   */
  private void seedDecrypt(KeyState s, DecryptKey owned, DataKeyCache.DecryptEntry entry) {
    root.cache.seedDecrypt(owned, entry);
    if (s.epoch() != entry.epoch()) {
      root.cache.discard(owned, entry);
    }
  }

  /**
   * After KMS gave a data key: it may be used only if no latch was set since the call started (else
   * it is discarded, and the caller fails closed).
   */
  private void checkLoaded(KeyState s, long epoch) {
    if (!root.revocations.loaded(s, epoch)) {
      root.revocations.checkOpen();
      s.checkNotRevoked();
      throw new KmsUnavailableException(
          "KMS key " + s.arn() + " was latched while a data key was being fetched", null);
    }
  }

  /**
   * The key state for a header of this tenant: the tenant and the CMK must be this tenant's, else
   * {@link IntegrityException} before any KMS call (so a ciphertext copied between tenants, even
   * tenants sharing a CMK, cannot make KMS refuse and latch the key).
   */
  private KeyState stateForHeader(MessageHeader h) {
    if (!h.tenantEquals(tenantUtf8)) {
      throw new IntegrityException();
    }
    byte[][] allowed = keys.allUtf8;
    for (int i = 0; i < allowed.length; i++) {
      if (h.keyArnEquals(allowed[i])) {
        return root.revocations.state(keys.allKeyArns().get(i), tenantId);
      }
    }
    throw new IntegrityException(); // not one of this tenant's keys
  }

  /**
   * The data key of a message with a lease taken on it (the caller releases it): from the cache if
   * present and loaded in the key's current revocation epoch, else from KMS {@code Decrypt} (single
   * flight).
   */
  private FrameKey leaseDecryptionKey(KeyState s, MessageHeader h, KeyContext kc) {
    return leaseDecryptionKey(
        s, kc, SUITE_AES256_GCM_COMMIT, h.array(), h.edkOffset(), h.edkLength());
  }

  private FrameKey leaseDecryptionKey(
      KeyState s, KeyContext kc, int suite, byte[] buf, int off, int len) {
    DecryptKey view =
        DecryptKey.view(tenantId, s.arn(), suite, kc.canonical, kc.hashCode(), buf, off, len);
    for (int attempt = 0; attempt < 8; attempt++) {
      DataKeyCache.DecryptEntry e = root.cache.decryptKeyIfPresent(view);
      if (e != null) {
        root.metrics.cacheHit("decrypt");
      } else {
        root.metrics.cacheMiss("decrypt");
        RefusedCiphertexts.Refusal known = root.refusals.find(view);
        if (known != null && known.judged()) {
          // KMS refused this very encrypted data key and a probe since said the key is fine:
          // refuse again without asking KMS (the latch still comes first).
          s.checkNotRevoked();
          root.refusals.readRefused(view, true);
          throw new IntegrityException(
              "KMS refused this ciphertext's data key ("
                  + known.refusal().errorCode()
                  + "); remembered, not asked again",
              null);
        }
        try {
          e = root.cache.decryptKey(view, k -> loadDecryptionKey(s, k, kc));
        } catch (LoadFailure f) {
          throw decryptRefused(s, view, f);
        }
      }
      if (e.epoch() == s.epoch() && e.key().tryLease()) {
        root.cache.refreshIfDue(view, e, k -> refreshDecryptionKey(s, k, kc));
        return e.key();
      }
      root.cache.discard(view, e); // from before a latch, or retired by a purge: never served
      s.checkNotRevoked();
    }
    throw new KmsUnavailableException(
        "no usable data key for KMS key " + s.arn() + " (purged repeatedly)", null);
  }

  /**
   * The exception for a failed data-key {@code Decrypt} of {@code view}'s ciphertext (or its
   * remembered refusal): the revocation rules decide; a refusal they find to be about this
   * ciphertext alone is judged so, and counted.
   */
  private RuntimeException decryptRefused(KeyState s, DecryptKey view, LoadFailure f) {
    RuntimeException thrown = root.revocations.onDataKeyFailure(s, f.kms, true);
    if (thrown instanceof IntegrityException && FailureRules.aboutTheCiphertext(f.kms, s.arn())) {
      root.refusals.judge(view);
      root.refusals.readRefused(view, f.remembered);
    }
    return thrown;
  }

  private DataKeyCache.DecryptEntry loadDecryptionKey(KeyState s, DecryptKey k, KeyContext kc) {
    root.revocations.checkOpen();
    s.checkNotRevoked();
    RefusedCiphertexts.Refusal known = root.refusals.find(k);
    if (known != null) {
      // KMS refused this very encrypted data key a moment ago (the probe that judges it may
      // still be running): its answer stands, and KMS is not asked again.
      throw new LoadFailure(known.refusal(), true);
    }
    long epoch = s.epoch();
    byte[] pt;
    try {
      pt =
          root.kms.decrypt(
              tenantId,
              s.arn(),
              k.encryptedDataKey(),
              kmsContext(kc),
              MessageFormat.DATA_KEY_LENGTH,
              PURPOSE,
              null);
    } catch (KmsCallException e) {
      if (FailureRules.aboutTheCiphertext(e, s.arn()) && !e.interrupted()) {
        root.refusals.remember(k, e); // k is the owned copy the cache stores
      }
      throw new LoadFailure(e);
    }
    try {
      checkLoaded(s, epoch);
      return new DataKeyCache.DecryptEntry(FrameKey.of(pt, SUITE_AES256_GCM_COMMIT), epoch);
    } finally {
      KmsGateway.wipe(pt);
    }
  }

  /** The encryption context sent to KMS: the key context plus {@code panops:tenant}. */
  Map<String, String> kmsContext(KeyContext kc) {
    TreeMap<String, String> m = new TreeMap<>(kc.asMap());
    m.put("panops:tenant", tenantId);
    return m;
  }

  @Override
  public String toString() {
    return "TenantCrypto[" + tenantId + ", " + keys + "]";
  }
}
