package com.panops.crypto;

import com.panops.crypto.DataKeys.KeyUse;
import com.panops.crypto.adapter.AdapterAccess;
import com.panops.crypto.cache.EncryptionKey;
import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.format.DecryptingInputStream;
import com.panops.crypto.format.EncryptingOutputStream;
import com.panops.crypto.format.FrameCipher;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.revocation.KeyState;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;

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
  static {
    AdapterAccess.install(new AdapterBridge());
  }

  private final PanopsCrypto root;
  private final String tenantId;
  final TenantKeys keys;
  private final DataKeys dataKeys;
  private final CompactValues compact;
  private final Rewrapper rewrap;

  TenantCrypto(PanopsCrypto root, String tenantId, TenantKeys keys) {
    this.root = root;
    this.tenantId = tenantId;
    this.keys = keys;
    this.dataKeys = new DataKeys(root, tenantId, keys);
    this.compact = new CompactValues(root, tenantId, keys, dataKeys);
    this.rewrap = new Rewrapper(root, tenantId, keys, dataKeys);
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
    EncryptionKey ek = dataKeys.acquire(s, keyContext, plaintext.length, frames, KeyUse.FRAMED);
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
      return compact.decrypt(ciphertext, keyContext, aad);
    }
    MessageHeader h = MessageHeader.parse(ciphertext, 0, ciphertext.length);
    KeyState s = dataKeys.stateForHeader(h);
    root.revocations.beforeUse(s);
    if (!h.keyContextEquals(keyContext.canonical)) {
      throw new IntegrityException();
    }
    FrameKey fk = dataKeys.leaseDecryptionKey(s, h, keyContext);
    byte[] out;
    try {
      out = FrameCipher.decrypt(fk, h, aad.canonical, ciphertext, 0, ciphertext.length);
    } finally {
      fk.release();
    }
    return dataKeys.releaseUnlessLatched(s, out);
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
    return compact.encrypt(plaintext, keyContext, aad);
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
    return rewrap.registeredKey(row);
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
    EncryptionKey ek = dataKeys.acquire(s, keyContext, 0, 0, KeyUse.FRAMED);
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
  InputStream decryptFrames(
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
    KeyState s = dataKeys.stateForHeader(h);
    root.revocations.beforeUse(s);
    if (!h.keyContextEquals(keyContext.canonical)) {
      throw new IntegrityException();
    }
    FrameKey fk = dataKeys.leaseDecryptionKey(s, h, keyContext);
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
  byte[] rewrapHeader(MessageHeader header, KeyContext keyContext) {
    Objects.requireNonNull(header, "header");
    Objects.requireNonNull(keyContext, "keyContext");
    return rewrap.header(header, keyContext);
  }

  @Override
  public String toString() {
    return "TenantCrypto[" + tenantId + ", " + keys + "]";
  }

  /** The adapters' way to the calls that name the message format (see {@link AdapterAccess}). */
  private static final class AdapterBridge implements AdapterAccess.Bridge {
    @Override
    public InputStream decryptFrames(
        TenantCrypto t,
        MessageHeader header,
        long ciphertextLength,
        long firstFrame,
        long lastFrame,
        InputStream frames,
        KeyContext keyContext,
        MessageAad aad) {
      return t.decryptFrames(
          header, ciphertextLength, firstFrame, lastFrame, frames, keyContext, aad);
    }

    @Override
    public byte[] rewrapHeader(TenantCrypto t, MessageHeader header, KeyContext keyContext) {
      return t.rewrapHeader(header, keyContext);
    }
  }
}
