package com.panops.crypto.format;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * An independent, deliberately plain encoder written from docs/FORMAT.md alone (no library code):
 * the committed vectors must match both it and the library.
 */
public final class ReferenceEncoder {
  private ReferenceEncoder() {}

  public static byte[] pairs(Map<String, String> m) {
    TreeMap<byte[], byte[]> sorted = new TreeMap<>(Arrays::compareUnsigned);
    m.forEach(
        (k, v) ->
            sorted.put(k.getBytes(StandardCharsets.UTF_8), v.getBytes(StandardCharsets.UTF_8)));
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    u16(o, sorted.size());
    sorted.forEach(
        (k, v) -> {
          u16(o, k.length);
          o.writeBytes(k);
          u16(o, v.length);
          o.writeBytes(v);
        });
    return o.toByteArray();
  }

  static void u16(ByteArrayOutputStream o, int v) {
    o.write(v >>> 8);
    o.write(v);
  }

  static void u32(ByteArrayOutputStream o, long v) {
    o.write((int) (v >>> 24));
    o.write((int) (v >>> 16));
    o.write((int) (v >>> 8));
    o.write((int) v);
  }

  /** A message's inputs: the bytes of a message are a function of these alone. */
  public record Message(
      byte[] dataKey,
      byte[] messageId,
      int frameSize,
      Map<String, String> keyContext,
      String tenant,
      String keyArn,
      byte[] edk,
      Map<String, String> aad,
      byte[] plaintext) {}

  /** The message's bytes, as docs/FORMAT.md defines them. */
  public static byte[] encode(Message m) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-512");
    sha.update(new byte[] {0, 0, 0, 1});
    sha.update(m.dataKey());
    sha.update("panops-crypto/v1 key commitment".getBytes(StandardCharsets.US_ASCII));
    sha.update((byte) 1);
    byte[] commitment = Arrays.copyOf(sha.digest(), 32);

    ByteArrayOutputStream bound = new ByteArrayOutputStream();
    bound.write(1);
    bound.write(1);
    u32(bound, m.frameSize());
    bound.writeBytes(m.messageId());
    bound.writeBytes(commitment);
    byte[] kc = pairs(m.keyContext());
    u16(bound, kc.length);
    bound.writeBytes(kc);
    byte[] t = m.tenant().getBytes(StandardCharsets.UTF_8);
    u16(bound, t.length);
    bound.writeBytes(t);
    byte[] boundBytes = bound.toByteArray();

    ByteArrayOutputStream msg = new ByteArrayOutputStream();
    msg.writeBytes(boundBytes);
    byte[] arn = m.keyArn().getBytes(StandardCharsets.UTF_8);
    u16(msg, arn.length);
    msg.writeBytes(arn);
    u16(msg, m.edk().length);
    msg.writeBytes(m.edk());

    byte[] aadBytes = pairs(m.aad());
    int frames =
        m.plaintext().length == 0 ? 1 : (m.plaintext().length + m.frameSize() - 1) / m.frameSize();
    for (int i = 0; i < frames; i++) {
      int start = i * m.frameSize();
      int end = Math.min(m.plaintext().length, start + m.frameSize());
      boolean fin = i == frames - 1;
      byte[] nonce = m.messageId().clone();
      nonce[8] ^= (byte) (i >>> 24);
      nonce[9] ^= (byte) (i >>> 16);
      nonce[10] ^= (byte) (i >>> 8);
      nonce[11] ^= (byte) i;
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(
          Cipher.ENCRYPT_MODE,
          new SecretKeySpec(m.dataKey(), "AES"),
          new GCMParameterSpec(128, nonce));
      ByteArrayOutputStream frameAad = new ByteArrayOutputStream();
      frameAad.writeBytes(boundBytes);
      frameAad.writeBytes(aadBytes);
      u32(frameAad, i);
      frameAad.write(fin ? 1 : 0);
      c.updateAAD(frameAad.toByteArray());
      msg.writeBytes(c.doFinal(Arrays.copyOfRange(m.plaintext(), start, end)));
    }
    return msg.toByteArray();
  }
}
