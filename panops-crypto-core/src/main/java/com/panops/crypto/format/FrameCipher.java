package com.panops.crypto.format;

import static com.panops.crypto.format.MessageFormat.*;

import com.panops.crypto.IntegrityException;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.IdentityHashMap;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Seals and opens frames, and whole single-buffer messages.
 *
 * <p>Design: the warm path costs one {@code Cipher.init} and one {@code doFinal} per frame on a
 * per-thread {@link Cipher} (JCE ciphers are not thread-safe; a per-thread instance needs no lock
 * and, since the data key repeats, the JDK skips the AES key expansion). The header is copied from
 * a template and the message id comes from a per-thread DRBG: the default {@code SecureRandom} has
 * a global lock that stops encryption from scaling past one core (measured, see docs/FORMAT.md).
 * The only allocations per frame are the output array and the JCE's own parameter objects. A key
 * made for a chosen provider ({@link FrameKey#of(byte[], int, Provider)}) is sealed and opened by
 * that provider's per-thread cipher; every other key by the JCA's choice.
 *
 * <p>Nothing here releases plaintext before its tag verifies: {@link #open} decrypts into a buffer
 * the caller owns and zeroes it if verification fails.
 */
public final class FrameCipher {
  private FrameCipher() {}

  private static final String TRANSFORMATION = "AES/GCM/NoPadding";

  /**
   * This thread's AES-GCM ciphers and nonce scratch, in one thread-local (one look-up per frame).
   * The JCA's choice ({@code Cipher.getInstance} without a provider: the highest-priority provider
   * installed when this thread first seals or opens a frame) serves keys without a provider; a key
   * made for a provider ({@code PanopsCrypto.Builder.cipherProvider}) gets that provider's cipher,
   * from a map made only when one is set, with the last one used kept at hand so that the warm path
   * is a reference compare.
   */
  private static final class Ciphers {
    final byte[] scratch = new byte[NONCE_LENGTH + 5];
    private Cipher jca;
    private Provider lastProvider;
    private Cipher last;
    private IdentityHashMap<Provider, Cipher> byProvider;

    Cipher of(Provider p) {
      if (p == null) {
        Cipher c = jca;
        if (c == null) {
          jca = c = newCipher(null);
        }
        return c;
      }
      if (p == lastProvider) {
        return last;
      }
      if (byProvider == null) {
        byProvider = new IdentityHashMap<>(4);
      }
      Cipher c = byProvider.computeIfAbsent(p, FrameCipher::newCipher);
      lastProvider = p;
      last = c;
      return c;
    }
  }

  private static final ThreadLocal<Ciphers> CIPHERS = ThreadLocal.withInitial(Ciphers::new);

  private static Cipher newCipher(Provider p) {
    try {
      return p == null ? Cipher.getInstance(TRANSFORMATION) : Cipher.getInstance(TRANSFORMATION, p);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(TRANSFORMATION + " unavailable", e);
    }
  }

  /**
   * Checks that {@code provider} offers {@code AES/GCM/NoPadding} and that it seals and opens with
   * a {@link FrameKey} (a 256-bit key that is not a {@code SecretKeySpec}): one empty message under
   * an all-zero key.
   *
   * @throws IllegalArgumentException naming the provider if it does not
   */
  public static void checkProvider(Provider provider) {
    Cipher c;
    try {
      c = Cipher.getInstance(TRANSFORMATION, provider);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "provider " + provider.getName() + " does not offer Cipher " + TRANSFORMATION, e);
    }
    FrameKey k = FrameKey.of(new byte[DATA_KEY_LENGTH], SUITE_AES256_GCM_COMMIT, provider);
    try {
      GCMParameterSpec iv = new GCMParameterSpec(TAG_LENGTH * 8, new byte[NONCE_LENGTH]);
      c.init(Cipher.ENCRYPT_MODE, k, iv);
      byte[] sealed = c.doFinal();
      c.init(Cipher.DECRYPT_MODE, k, iv);
      if (sealed.length != TAG_LENGTH || c.doFinal(sealed).length != 0) {
        throw new GeneralSecurityException("unexpected AES-GCM output length");
      }
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException(
          "provider " + provider.getName() + " cannot seal and open with " + TRANSFORMATION, e);
    } finally {
      k.retire();
    }
  }

  /**
   * For tests: the provider of the cipher this thread has used for keys made for {@code provider}
   * ({@code null}: the JCA's choice), or {@code null} if this thread has sealed or opened no frame
   * with such a key.
   */
  static Provider providerUsed(Provider provider) {
    Ciphers cs = CIPHERS.get();
    Cipher c =
        provider == null ? cs.jca : cs.byProvider == null ? null : cs.byProvider.get(provider);
    return c == null ? null : c.getProvider();
  }

  /**
   * Per-thread randomness for message ids, drawn from a per-thread DRBG 768 bytes (64 ids) at a
   * time. Measured on the target machine: one {@code DRBG.nextBytes(12)} costs about 0.8 µs and 176
   * bytes of garbage, as much as a whole 1 KiB AES-GCM encryption; refilling 64 ids at once makes
   * that about 60 ns and 3 bytes per message. The default {@code SecureRandom} is not used at all
   * on this path: its global lock stops encryption from scaling past one core. Ids need to be
   * unique, not secret (they are in the header), so holding a few unused ones in memory costs
   * nothing.
   */
  private static final class Randomness {
    private final SecureRandom drbg;
    private final byte[] pool = new byte[768];
    private int pos = pool.length;

    Randomness() {
      SecureRandom r;
      try {
        r = SecureRandom.getInstance("DRBG");
      } catch (GeneralSecurityException e) {
        r = new SecureRandom();
      }
      this.drbg = r;
    }

    void next(byte[] dst, int off, int len) {
      while (len > 0) {
        if (pos == pool.length) {
          drbg.nextBytes(pool);
          pos = 0;
        }
        int n = Math.min(len, pool.length - pos);
        System.arraycopy(pool, pos, dst, off, n);
        Arrays.fill(pool, pos, pos + n, (byte) 0); // each byte is handed out once
        pos += n;
        off += n;
        len -= n;
      }
    }
  }

  private static final ThreadLocal<Randomness> RANDOM = ThreadLocal.withInitial(Randomness::new);

  /** This thread's AES-GCM cipher for {@code key} (for {@link CompactFormat}). */
  static Cipher cipher(FrameKey key) {
    return CIPHERS.get().of(key.provider());
  }

  /** Fills {@code len} bytes of {@code dst} at {@code off} from this thread's DRBG. */
  public static void randomBytes(byte[] dst, int off, int len) {
    RANDOM.get().next(dst, off, len);
  }

  /** The ciphertext length of a message of {@code plaintextLength} bytes. */
  public static long ciphertextLength(int headerLength, int frameSize, long plaintextLength) {
    return FrameGeometry.ciphertextLength(headerLength, frameSize, plaintextLength);
  }

  /**
   * Encrypts a whole message into a new array: the header template (its message id is filled here
   * with fresh random bytes) followed by the frames.
   *
   * @param template header from {@link MessageHeader#encodeTemplate}; not modified
   * @param boundLength length of the bound part of the header
   */
  public static byte[] encrypt(
      FrameKey key,
      byte[] template,
      int boundLength,
      int frameSize,
      byte[] messageAad,
      byte[] plaintext,
      int ptOff,
      int ptLen) {
    long total = ciphertextLength(template.length, frameSize, ptLen);
    if (total > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("message too large for a byte[]; use a stream");
    }
    byte[] out = new byte[(int) total];
    System.arraycopy(template, 0, out, 0, template.length);
    randomBytes(out, OFF_MESSAGE_ID, MESSAGE_ID_LENGTH);
    sealAll(key, out, template.length, boundLength, frameSize, messageAad, plaintext, ptOff, ptLen);
    return out;
  }

  /** Encrypts with a given message id: for the committed test vectors only. */
  static byte[] encryptWithMessageId(
      FrameKey key,
      byte[] template,
      int boundLength,
      int frameSize,
      byte[] messageAad,
      byte[] plaintext,
      byte[] messageId) {
    long total = ciphertextLength(template.length, frameSize, plaintext.length);
    byte[] out = new byte[(int) total];
    System.arraycopy(template, 0, out, 0, template.length);
    System.arraycopy(messageId, 0, out, OFF_MESSAGE_ID, MESSAGE_ID_LENGTH);
    sealAll(
        key,
        out,
        template.length,
        boundLength,
        frameSize,
        messageAad,
        plaintext,
        0,
        plaintext.length);
    return out;
  }

  private static void sealAll(
      FrameKey key,
      byte[] out,
      int headerLength,
      int boundLength,
      int frameSize,
      byte[] messageAad,
      byte[] plaintext,
      int ptOff,
      int ptLen) {
    int in = ptOff;
    int remaining = ptLen;
    int o = headerLength;
    long index = 0;
    do {
      int n = Math.min(remaining, frameSize);
      boolean fin = remaining - n == 0;
      o += seal(key, out, 0, boundLength, messageAad, index, fin, plaintext, in, n, out, o);
      in += n;
      remaining -= n;
      index++;
    } while (remaining > 0);
  }

  /**
   * Seals one frame. The nonce is derived from the message id inside {@code bound}.
   *
   * @return bytes written ({@code len + 16})
   */
  public static int seal(
      FrameKey key,
      byte[] bound,
      int boundOff,
      int boundLen,
      byte[] messageAad,
      long index,
      boolean fin,
      byte[] in,
      int inOff,
      int len,
      byte[] out,
      int outOff) {
    Ciphers cs = CIPHERS.get();
    Cipher c = cs.of(key.provider());
    byte[] s = cs.scratch;
    try {
      prepare(c, Cipher.ENCRYPT_MODE, key, bound, boundOff, boundLen, messageAad, index, fin, s);
      return c.doFinal(in, inOff, len, out, outOff);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM encryption failed", e);
    }
  }

  /**
   * Opens one frame of {@code ctLen} bytes (ciphertext and tag) into {@code out}; on failure zeroes
   * what it may have written and throws.
   *
   * @return plaintext bytes written
   * @throws IntegrityException if the tag does not verify
   */
  public static int open(
      FrameKey key,
      byte[] bound,
      int boundOff,
      int boundLen,
      byte[] messageAad,
      long index,
      boolean fin,
      byte[] in,
      int inOff,
      int ctLen,
      byte[] out,
      int outOff) {
    if (ctLen < TAG_LENGTH) {
      throw new IntegrityException();
    }
    Ciphers cs = CIPHERS.get();
    Cipher c = cs.of(key.provider());
    byte[] s = cs.scratch;
    try {
      prepare(c, Cipher.DECRYPT_MODE, key, bound, boundOff, boundLen, messageAad, index, fin, s);
      return c.doFinal(in, inOff, ctLen, out, outOff);
    } catch (AEADBadTagException e) {
      Arrays.fill(out, outOff, Math.min(out.length, outOff + ctLen - TAG_LENGTH), (byte) 0);
      throw new IntegrityException();
    } catch (GeneralSecurityException e) {
      Arrays.fill(out, outOff, Math.min(out.length, outOff + ctLen - TAG_LENGTH), (byte) 0);
      throw new IntegrityException(e);
    }
  }

  private static void prepare(
      Cipher c,
      int mode,
      FrameKey key,
      byte[] bound,
      int boundOff,
      int boundLen,
      byte[] messageAad,
      long index,
      boolean fin,
      byte[] s)
      throws GeneralSecurityException {
    if (index < 0 || index > MAX_FRAMES) {
      throw new IllegalArgumentException("frame index out of range");
    }
    System.arraycopy(bound, boundOff + OFF_MESSAGE_ID, s, 0, NONCE_LENGTH);
    int i = (int) index;
    s[8] ^= (byte) (i >>> 24);
    s[9] ^= (byte) (i >>> 16);
    s[10] ^= (byte) (i >>> 8);
    s[11] ^= (byte) i;
    c.init(mode, key, new GCMParameterSpec(TAG_LENGTH * 8, s, 0, NONCE_LENGTH));
    c.updateAAD(bound, boundOff, boundLen);
    c.updateAAD(messageAad);
    s[12] = (byte) (i >>> 24);
    s[13] = (byte) (i >>> 16);
    s[14] = (byte) (i >>> 8);
    s[15] = (byte) i;
    s[16] = (byte) (fin ? 1 : 0);
    c.updateAAD(s, 12, 5);
  }

  /**
   * Decrypts a whole message held in {@code msg[off..off+len)} whose header is {@code header}.
   *
   * @throws IntegrityException on any failure; no plaintext is returned in that case
   */
  public static byte[] decrypt(
      FrameKey key, MessageHeader header, byte[] messageAad, byte[] msg, int off, int len) {
    if (!key.commitmentMatches(header.buffer(), header.commitmentOffset())) {
      throw new IntegrityException();
    }
    long frames = header.frameCount(len);
    long ptLen = header.plaintextLength(len);
    if (ptLen > Integer.MAX_VALUE - 16) {
      throw new IntegrityException();
    }
    byte[] out = new byte[(int) ptLen];
    int unit = header.frameSize() + TAG_LENGTH;
    int p = off + header.length();
    int o = 0;
    try {
      for (long i = 0; i < frames; i++) {
        boolean fin = i == frames - 1;
        int ct = fin ? off + len - p : unit;
        o +=
            open(
                key,
                header.buffer(),
                header.offset(),
                header.boundLength(),
                messageAad,
                i,
                fin,
                msg,
                p,
                ct,
                out,
                o);
        p += ct;
      }
    } catch (RuntimeException e) {
      Arrays.fill(out, (byte) 0);
      throw e;
    }
    return out;
  }
}
