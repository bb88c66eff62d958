package com.panops.crypto;

import static com.panops.crypto.format.MessageFormat.SUITE_AES256_GCM_COMMIT;

import com.panops.crypto.cache.DataKeyCache;
import com.panops.crypto.cache.DecryptKey;
import com.panops.crypto.cache.EncryptionKey;
import com.panops.crypto.format.DecryptingInputStream;
import com.panops.crypto.format.EncryptingOutputStream;
import com.panops.crypto.format.FrameCipher;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageFormat;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.kms.KmsGateway;
import com.panops.crypto.revocation.KeyState;
import com.panops.crypto.revocation.Revocations;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
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
    EncryptionKey ek = acquire(s, keyContext, plaintext.length, frames);
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
    EncryptionKey ek = acquire(s, keyContext, 0, 0);
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
    KeyState dst = root.revocations.state(keys.currentKeyArn(), tenantId);
    root.revocations.beforeUse(src);
    root.revocations.beforeUse(dst);
    byte[] edk;
    try {
      edk =
          root.kms.reEncrypt(
              tenantId,
              src.arn(),
              dst.arn(),
              header.encryptedDataKey(),
              kmsContext(keyContext),
              "re-wrap");
    } catch (KmsCallException e) {
      // ReEncrypt does not say which key refused: probe both (fresh probes, bounded), and let
      // the probes latch. Then: a latched key is a revocation; a refusal of this one ciphertext
      // is an integrity failure; anything else fails this call only.
      root.revocations.probeFresh(src);
      root.revocations.probeFresh(dst);
      src.checkNotRevoked();
      dst.checkNotRevoked();
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (Revocations.isPerCiphertext(e.reason())) {
        throw new IntegrityException(cause);
      }
      if (e.reason().isCustomerAction()) {
        throw new KeyRevokedException(src.arn(), e.reason(), cause);
      }
      throw new KmsUnavailableException("KMS ReEncrypt failed (" + e.errorCode() + ")", cause);
    }
    return header.withKeyReference(currentArnUtf8, edk);
  }

  /** The header of a message whose first bytes are {@code prefix}; see {@link MessageHeader}. */
  public static MessageHeader parseHeader(byte[] prefix, int off, int len) {
    return MessageHeader.parse(prefix, off, len);
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

    LoadFailure(KmsCallException kms) {
      super(null, null, false, false);
      this.kms = kms;
    }
  }

  /**
   * An encrypt-side key with a lease taken on its data key (the caller releases it), reserved for
   * one message of {@code bytes} and {@code frames}. Entries from an older revocation epoch, spent
   * entries and entries retired by a purge are dropped and another is loaded.
   */
  private EncryptionKey acquire(KeyState s, KeyContext kc, long bytes, long frames) {
    root.revocations.beforeUse(s);
    DataKeyCache.EncryptSlot slot = new DataKeyCache.EncryptSlot(tenantId, s.arn(), kc);
    for (int attempt = 0; attempt < 8; attempt++) {
      EncryptionKey ek = root.cache.encryptKeyIfPresent(slot);
      if (ek == null) {
        root.metrics.cacheMiss("encrypt");
        try {
          ek = root.cache.encryptKey(slot, k -> loadEncryptionKey(s, kc));
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
        root.cache.refreshIfDue(slot, ek, now, () -> refreshEncryptionKey(s, kc));
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
      own = loadEncryptionKey(s, kc);
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

  /**
   * The background load of an encrypt-side key's successor (refresh ahead): the same rules as a
   * request's load (a latched key is not loaded; an answer after a latch is discarded; a KMS
   * failure is handled, and latches, as a request's would), but nothing is thrown: {@code null}
   * instead.
   */
  private EncryptionKey refreshEncryptionKey(KeyState s, KeyContext kc) {
    if (s.isRevoked() || root.isClosed()) {
      return null;
    }
    try {
      return loadEncryptionKey(s, kc);
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

  private EncryptionKey loadEncryptionKey(KeyState s, KeyContext kc) {
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
      byte[] template =
          MessageHeader.encodeTemplate(
              root.frameSize,
              fk,
              kc.canonical,
              tenantUtf8,
              s.arn().getBytes(StandardCharsets.UTF_8),
              dk.encrypted());
      byte[] edk = dk.encrypted();
      root.cache.seedDecrypt(
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
    DecryptKey view =
        DecryptKey.view(
            tenantId,
            s.arn(),
            SUITE_AES256_GCM_COMMIT,
            kc.canonical,
            kc.hashCode(),
            h.array(),
            h.edkOffset(),
            h.edkLength());
    for (int attempt = 0; attempt < 8; attempt++) {
      DataKeyCache.DecryptEntry e = root.cache.decryptKeyIfPresent(view);
      if (e != null) {
        root.metrics.cacheHit("decrypt");
      } else {
        root.metrics.cacheMiss("decrypt");
        try {
          e = root.cache.decryptKey(view, k -> loadDecryptionKey(s, k, kc));
        } catch (LoadFailure f) {
          throw root.revocations.onDataKeyFailure(s, f.kms, true);
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

  private DataKeyCache.DecryptEntry loadDecryptionKey(KeyState s, DecryptKey k, KeyContext kc) {
    root.revocations.checkOpen();
    s.checkNotRevoked();
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
