package com.panops.crypto.format;

/** Test access to the fixed-message-id encryption used only to produce committed vectors. */
public final class FormatTestAccess {
  private FormatTestAccess() {}

  public static byte[] encryptWithMessageId(
      FrameKey key,
      byte[] template,
      int boundLength,
      int frameSize,
      byte[] messageAad,
      byte[] plaintext,
      byte[] messageId) {
    return FrameCipher.encryptWithMessageId(
        key, template, boundLength, frameSize, messageAad, plaintext, messageId);
  }

  /** See {@link FrameCipher#providerUsed}: on the calling thread. */
  public static java.security.Provider providerUsed(java.security.Provider requested) {
    return FrameCipher.providerUsed(requested);
  }

  public static byte[] compactWithNonce(
      FrameKey key, long keyId, byte[] context, byte[] messageAad, byte[] plaintext, byte[] nonce) {
    return CompactFormat.sealWithNonce(key, keyId, context, messageAad, plaintext, nonce);
  }
}
