package com.panops.crypto.format;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * An independent, deliberately plain encoder of compact values (format version 2) written from
 * docs/FORMAT.md, "Compact values", alone (no library code but the shared pair encoding of {@link
 * ReferenceEncoder#pairs}, itself written from the spec): the committed vectors must match both it
 * and the library.
 */
public final class CompactReferenceEncoder {
  private CompactReferenceEncoder() {}

  private static byte[] context(String tenant, Map<String, String> keyContext) {
    byte[] t = tenant.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ReferenceEncoder.u16(o, t.length);
    o.writeBytes(t);
    o.writeBytes(ReferenceEncoder.pairs(keyContext));
    return o.toByteArray();
  }

  private static byte[] keyId(long id) {
    byte[] b = new byte[8];
    for (int i = 0; i < 8; i++) {
      b[i] = (byte) (id >>> (56 - 8 * i));
    }
    return b;
  }

  /** A compact value's inputs: its bytes are a function of these alone. */
  public record Value(
      byte[] dataKey,
      long keyId,
      byte[] nonce,
      Map<String, String> keyContext,
      String tenant,
      Map<String, String> aad,
      byte[] plaintext) {}

  /** version 0x02, suite 0x02, key id, nonce, then AES-256-GCM(ciphertext || tag). */
  public static byte[] encode(Value v) throws Exception {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    head.write(0x02);
    head.write(0x02);
    head.writeBytes(keyId(v.keyId()));
    head.writeBytes(v.nonce());
    byte[] h = head.toByteArray();
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(
        Cipher.ENCRYPT_MODE,
        new SecretKeySpec(v.dataKey(), "AES"),
        new GCMParameterSpec(128, v.nonce()));
    c.updateAAD(h);
    c.updateAAD(context(v.tenant(), v.keyContext()));
    c.updateAAD(ReferenceEncoder.pairs(v.aad()));
    byte[] body = c.doFinal(v.plaintext());
    byte[] out = Arrays.copyOf(h, h.length + body.length);
    System.arraycopy(body, 0, out, h.length, body.length);
    return out;
  }

  /** first 32 bytes of SHA-512(u32(1) || K || label || suite || keyId || context). */
  public static byte[] commitment(
      byte[] dataKey, long keyId, String tenant, Map<String, String> keyContext) throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-512");
    sha.update(new byte[] {0, 0, 0, 1});
    sha.update(dataKey);
    sha.update("panops-crypto/v2 key commitment".getBytes(StandardCharsets.US_ASCII));
    sha.update((byte) 0x02);
    sha.update(keyId(keyId));
    sha.update(context(tenant, keyContext));
    return Arrays.copyOf(sha.digest(), 32);
  }
}
