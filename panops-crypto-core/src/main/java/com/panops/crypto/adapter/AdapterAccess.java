package com.panops.crypto.adapter;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.MessageHeader;
import java.io.InputStream;
import java.util.Objects;

/**
 * What the S3 and JDBC adapters call that names the message format, kept off {@link TenantCrypto}'s
 * public API (whose types a user can hold). This package is exported to the adapter modules only;
 * on the class path it is reachable but not API, and may change in any release.
 *
 * <p>{@link TenantCrypto} installs the bridge when its class is initialised, which happens before
 * any adapter holds a tenant; a second install is refused.
 */
public final class AdapterAccess {
  /** The calls, implemented by {@link TenantCrypto}. */
  public interface Bridge {
    InputStream decryptFrames(
        TenantCrypto t,
        MessageHeader header,
        long ciphertextLength,
        long firstFrame,
        long lastFrame,
        InputStream frames,
        KeyContext keyContext,
        MessageAad aad);

    byte[] rewrapHeader(TenantCrypto t, MessageHeader header, KeyContext keyContext);
  }

  private static volatile Bridge bridge;

  private AdapterAccess() {}

  /**
   * Sets the bridge; only {@link TenantCrypto}'s class initialiser calls this.
   *
   * @throws IllegalStateException if a bridge is already installed
   */
  public static synchronized void install(Bridge b) {
    Objects.requireNonNull(b, "bridge");
    if (b.getClass().getEnclosingClass() != TenantCrypto.class) {
      throw new IllegalArgumentException("only TenantCrypto installs the adapter bridge");
    }
    if (bridge != null) {
      throw new IllegalStateException("the adapter bridge is already installed");
    }
    bridge = b;
  }

  /**
   * Authenticated random access: a stream of the plaintext of frames {@code firstFrame..lastFrame}
   * of a message of {@code ciphertextLength} bytes whose header is {@code header}, read from {@code
   * frames}, which must start at {@link MessageHeader#frameOffset(long) frameOffset(firstFrame)}
   * and end after frame {@code lastFrame}. Every frame is authenticated before its bytes are
   * returned.
   *
   * @throws com.panops.crypto.IntegrityException if the header or length is not valid
   */
  public static InputStream decryptFrames(
      TenantCrypto tenant,
      MessageHeader header,
      long ciphertextLength,
      long firstFrame,
      long lastFrame,
      InputStream frames,
      KeyContext keyContext,
      MessageAad aad) {
    return bridge(tenant)
        .decryptFrames(
            tenant, header, ciphertextLength, firstFrame, lastFrame, frames, keyContext, aad);
  }

  /**
   * Re-wraps a message's data key under the tenant's current CMK with KMS {@code ReEncrypt} and
   * returns the new header; the body is unchanged and still verifies under it. A copy of the old
   * header when the message is already under the current CMK.
   *
   * @throws com.panops.crypto.IntegrityException if the header is malformed, names a key this
   *     tenant may not use, or carries another key context
   * @throws com.panops.crypto.KeyRevokedException if either CMK is latched or refuses the call
   */
  public static byte[] rewrapHeader(
      TenantCrypto tenant, MessageHeader header, KeyContext keyContext) {
    return bridge(tenant).rewrapHeader(tenant, header, keyContext);
  }

  private static Bridge bridge(TenantCrypto tenant) {
    Objects.requireNonNull(tenant, "tenant"); // its class is initialised: the bridge is set
    return bridge;
  }
}
