package com.panops.crypto.format;

/**
 * Constants of the panops-crypto message format, version 1. The byte-by-byte description is in
 * {@code docs/FORMAT.md}; the code that writes it is {@link MessageHeader#encodeTemplate} and
 * {@link FrameCipher}.
 *
 * <pre>
 * message  = header || frame_0 || ... || frame_{n-1}
 * header   = bound || keyref
 * bound    = version(1)=0x01 || suite(1)=0x01 || frameSize(u32) || messageId(12)
 *            || commitment(32) || u16 kcLen || keyContext(kcLen) || u16 tLen || tenant(tLen)
 * keyref   = u16 arnLen || keyArn(arnLen, UTF-8) || u16 edkLen || encryptedDataKey(edkLen)
 * frame_i  = AES-256-GCM(dataKey, nonce_i, aad_i, plaintext_i) (ciphertext || 16-byte tag)
 * nonce_i  = messageId with its last 4 bytes XORed with u32(i)
 * aad_i    = bound || messageAad || u32(i) || u8(final ? 1 : 0)
 * </pre>
 */
public final class MessageFormat {
  private MessageFormat() {}

  /** Format version written by this library. */
  public static final int VERSION = 1;

  /** AES-256-GCM, random 96-bit message id as nonce base, SHA-512 key commitment. */
  public static final int SUITE_AES256_GCM_COMMIT = 1;

  public static final int DATA_KEY_LENGTH = 32;
  public static final int MESSAGE_ID_LENGTH = 12;
  public static final int COMMITMENT_LENGTH = 32;
  public static final int TAG_LENGTH = 16;
  public static final int NONCE_LENGTH = 12;

  /** Smallest and largest frame size (plaintext bytes per frame) a reader accepts. */
  public static final int MIN_FRAME_SIZE = 4096;

  public static final int MAX_FRAME_SIZE = 4 * 1024 * 1024;

  /** The default frame size: 64 KiB, below the JDK's slow path for large single-shot GCM. */
  public static final int DEFAULT_FRAME_SIZE = 64 * 1024;

  /** Bounds checked on every length read from a ciphertext before anything is allocated. */
  public static final int MAX_KEY_CONTEXT_LENGTH = 2048;

  public static final int MAX_KEY_ARN_LENGTH = 2048;
  public static final int MAX_TENANT_LENGTH = 256;
  public static final int MAX_EDK_LENGTH = 4096;

  /** Offsets of the fixed part of the header. */
  static final int OFF_VERSION = 0;

  static final int OFF_SUITE = 1;
  static final int OFF_FRAME_SIZE = 2;
  static final int OFF_MESSAGE_ID = 6;
  static final int OFF_COMMITMENT = OFF_MESSAGE_ID + MESSAGE_ID_LENGTH;
  static final int OFF_KC_LEN = OFF_COMMITMENT + COMMITMENT_LENGTH;

  /** Length of the fixed prefix a reader needs before it knows the rest of the header's length. */
  public static final int FIXED_PREFIX_LENGTH = OFF_KC_LEN + 2;

  /** Largest possible header. */
  public static final int MAX_HEADER_LENGTH =
      FIXED_PREFIX_LENGTH
          + MAX_KEY_CONTEXT_LENGTH
          + 2
          + MAX_TENANT_LENGTH
          + 2
          + MAX_KEY_ARN_LENGTH
          + 2
          + MAX_EDK_LENGTH;

  /** Largest number of frames in one message (frame indexes are 32-bit). */
  public static final long MAX_FRAMES = 0xFFFF_FFFFL;
}
