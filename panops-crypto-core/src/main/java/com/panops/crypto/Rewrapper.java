package com.panops.crypto;

import static com.panops.crypto.format.MessageFormat.SUITE_AES256_GCM_COMMIT;

import com.panops.crypto.cache.DecryptKey;
import com.panops.crypto.cache.RefusedCiphertexts;
import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.revocation.FailureRules;
import com.panops.crypto.revocation.KeyState;
import java.nio.charset.StandardCharsets;

/**
 * Re-wrap: a data key moved under the tenant's current CMK with KMS {@code ReEncrypt}, so the data
 * key never enters this process and every value under it stays readable untouched. For messages (a
 * new header over the same body) and for registry rows (the same key id, context and commitment
 * under a new CMK and wrapped key).
 */
final class Rewrapper {
  private final PanopsCrypto root;
  private final String tenantId;
  private final TenantKeys tenantKeys;
  private final DataKeys keys;
  private final byte[] currentArnUtf8;

  Rewrapper(PanopsCrypto root, String tenantId, TenantKeys tenantKeys, DataKeys keys) {
    this.root = root;
    this.tenantId = tenantId;
    this.tenantKeys = tenantKeys;
    this.keys = keys;
    this.currentArnUtf8 = tenantKeys.currentKeyArn().getBytes(StandardCharsets.UTF_8);
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
  RegisteredDataKey registeredKey(RegisteredDataKey row) {
    if (!row.tenantId().equals(tenantId) || row.suite() != CompactFormat.SUITE) {
      throw new RegisteredKeyException(row.keyId(), false, "tenant or suite differs", null);
    }
    KeyState src = keys.stateForArn(row.keyArn());
    if (src == null) {
      throw new RegisteredKeyException(
          row.keyId(), false, "it names a KMS key this tenant may not use", null);
    }
    KeyContext kc = KeyContext.fromCanonical(row.keyContextRef());
    if (kc == null) {
      throw new RegisteredKeyException(row.keyId(), false, "malformed key context", null);
    }
    if (row.keyArn().equals(tenantKeys.currentKeyArn())) {
      return row;
    }
    byte[] edk = reEncrypt(src, CompactFormat.SUITE, row.edkRef(), kc);
    return row.withKeyReference(tenantKeys.currentKeyArn(), edk);
  }

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
  byte[] header(MessageHeader header, KeyContext keyContext) {
    KeyState src = keys.stateForHeader(header);
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
    KeyState dst = root.revocations.state(tenantKeys.currentKeyArn(), tenantId);
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
            tenantId, src.arn(), dst.arn(), edk, keys.kmsContext(keyContext), "re-wrap");
      } catch (KmsCallException refused) {
        e = refused;
      }
    }
    if (FailureRules.reEncryptAboutTheCiphertext(e, src.arn(), dst.arn())) {
      throw aboutTheCiphertext(src, view, known, e);
    }
    throw aboutAKey(src, dst, e);
  }

  /**
   * A refusal about the ciphertext: remembered (apart from Decrypt's refusals) and judged by the
   * source key's spaced probe, as a data-key Decrypt's would be.
   */
  private RuntimeException aboutTheCiphertext(
      KeyState src, DecryptKey view, RefusedCiphertexts.Refusal known, KmsCallException e) {
    if (known == null && !e.interrupted()) {
      root.rewrapRefusals.remember(view.owned(), e);
    }
    RuntimeException thrown = root.revocations.onDataKeyFailure(src, e, true);
    if (thrown instanceof IntegrityException) {
      root.rewrapRefusals.judge(view);
      root.rewrapRefusals.readRefused(view, known != null);
    }
    return thrown;
  }

  /**
   * A refusal about a key: after fresh probes of both, a customer action latches the key KMS's
   * message names (both if it names both); one that names neither, or another failure, fails the
   * call only.
   */
  private RuntimeException aboutAKey(KeyState src, KeyState dst, KmsCallException e) {
    Throwable cause = e.getCause() != null ? e.getCause() : e;
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
        return thrown;
      }
      return new KmsUnavailableException(
          "KMS refused ReEncrypt ("
              + e.errorCode()
              + ") naming neither KMS key, though both answered probes: the key policies may not"
              + " grant kms:ReEncrypt* to this role",
          cause);
    }
    return new KmsUnavailableException("KMS ReEncrypt failed (" + e.errorCode() + ")", cause);
  }
}
