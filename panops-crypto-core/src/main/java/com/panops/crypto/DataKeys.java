package com.panops.crypto;

import static com.panops.crypto.format.MessageFormat.SUITE_AES256_GCM_COMMIT;

import com.panops.crypto.cache.DataKeyCache;
import com.panops.crypto.cache.DecryptKey;
import com.panops.crypto.cache.EncryptionKey;
import com.panops.crypto.cache.RefusedCiphertexts;
import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.format.FrameCipher;
import com.panops.crypto.format.FrameKey;
import com.panops.crypto.format.MessageFormat;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.kms.KmsGateway;
import com.panops.crypto.revocation.FailureRules;
import com.panops.crypto.revocation.KeyState;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The lease protocol of one tenant's data keys: how an operation gets a data key with a lease on
 * it, from the cache or from KMS, and what it checks so that nothing is served across a latch.
 *
 * <ul>
 *   <li>Encrypt side ({@link #acquire}): a cached key of the current revocation epoch, within its
 *       age and message/byte limits, leased; near a limit its successor is loaded in the background
 *       (refresh ahead) and handed over.
 *   <li>Decrypt side ({@link #leaseDecryptionKey}): by the encrypted data key's every byte and its
 *       context; single flight; a refusal of one ciphertext is remembered.
 *   <li>Every load reads the key's epoch before calling KMS and discards the data key if a latch
 *       was set meanwhile; every cached entry carries its load's epoch and an entry from an older
 *       epoch is never served.
 * </ul>
 *
 * A KMS failure is carried out of the cache's load as a {@code LoadFailure} and handed to the kill
 * switch outside it (purging from inside the cache's compute could hit the entry being computed).
 */
final class DataKeys {
  private static final String PURPOSE = "data-key";

  /** What a data key is for: version 1 messages, or compact values (registered keys). */
  enum KeyUse {
    FRAMED,
    COMPACT
  }

  private final PanopsCrypto root;
  private final String tenantId;
  private final TenantKeys keys;
  private final byte[] tenantUtf8;

  DataKeys(PanopsCrypto root, String tenantId, TenantKeys keys) {
    this.root = root;
    this.tenantId = tenantId;
    this.keys = keys;
    this.tenantUtf8 = tenantId.getBytes(StandardCharsets.UTF_8);
  }

  /** After a decryption: the plaintext, unless the key was latched (or closed) meanwhile. */
  byte[] releaseUnlessLatched(KeyState s, byte[] out) {
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

  /** The key state of {@code arn} if it is one of this tenant's CMKs, else {@code null}. */
  KeyState stateForArn(String arn) {
    List<String> all = keys.allKeyArns();
    for (int i = 0; i < all.size(); i++) {
      if (all.get(i).equals(arn)) {
        return root.revocations.state(all.get(i), tenantId);
      }
    }
    return null;
  }

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
  EncryptionKey acquire(KeyState s, KeyContext kc, long bytes, long frames, KeyUse use) {
    root.revocations.beforeUse(s);
    DataKeyCache.EncryptSlot slot =
        new DataKeyCache.EncryptSlot(
            tenantId, s.arn(), use == KeyUse.COMPACT ? new CompactSlot(kc) : kc);
    for (int attempt = 0; attempt < 8; attempt++) {
      EncryptionKey ek = root.cache.encryptKeyIfPresent(slot);
      if (ek == null) {
        root.metrics.cacheMiss("encrypt");
        try {
          ek = root.cache.encryptKey(slot, k -> loadEncryptionKey(s, kc, use));
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
        root.cache.refreshIfDue(slot, ek, now, () -> refreshEncryptionKey(s, kc, use));
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
      own = loadEncryptionKey(s, kc, use);
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
   * The background load of an encrypt-side key's successor (refresh ahead); see {@link #refresh}.
   */
  private EncryptionKey refreshEncryptionKey(KeyState s, KeyContext kc, KeyUse use) {
    return refresh(s, false, () -> loadEncryptionKey(s, kc, use));
  }

  /** As {@link #refreshEncryptionKey}, for a decrypt-side entry (KMS {@code Decrypt} again). */
  private DataKeyCache.DecryptEntry refreshDecryptionKey(KeyState s, DecryptKey k, KeyContext kc) {
    return refresh(s, true, () -> loadDecryptionKey(s, k, kc));
  }

  /**
   * A background load: the same rules as a request's load (a latched key is not loaded; an answer
   * after a latch is discarded; a KMS failure is handled, and latches, as a request's would), but
   * nothing is thrown: {@code null} instead.
   */
  private <T> T refresh(KeyState s, boolean decrypt, java.util.function.Supplier<T> load) {
    if (s.isRevoked() || root.isClosed()) {
      return null;
    }
    try {
      return load.get();
    } catch (LoadFailure f) {
      root.revocations.onDataKeyFailure(s, f.kms, decrypt);
      return null;
    } catch (RuntimeException latchedOrClosed) {
      return null;
    }
  }

  private EncryptionKey loadEncryptionKey(KeyState s, KeyContext kc, KeyUse use) {
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
      FrameKey fk = FrameKey.of(dk.plaintext(), SUITE_AES256_GCM_COMMIT, root.cipherProvider);
      if (use == KeyUse.COMPACT) {
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
      seedDecrypt(s, kc, SUITE_AES256_GCM_COMMIT, edk, fk, epoch);
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
    seedDecrypt(s, kc, CompactFormat.SUITE, edk, fk, epoch);
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
   * registry insert, a database round trip; {@code SeedAcrossLatchTest} races it.)
   */
  private void seedDecrypt(
      KeyState s, KeyContext kc, int suite, byte[] edk, FrameKey fk, long epoch) {
    DecryptKey owned =
        DecryptKey.view(tenantId, s.arn(), suite, kc.canonical, kc.hashCode(), edk, 0, edk.length)
            .owned();
    DataKeyCache.DecryptEntry entry = new DataKeyCache.DecryptEntry(fk.copy(), epoch);
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
  KeyState stateForHeader(MessageHeader h) {
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
  FrameKey leaseDecryptionKey(KeyState s, MessageHeader h, KeyContext kc) {
    return leaseDecryptionKey(
        s, kc, SUITE_AES256_GCM_COMMIT, h.array(), h.edkOffset(), h.edkLength());
  }

  FrameKey leaseDecryptionKey(KeyState s, KeyContext kc, int suite, byte[] buf, int off, int len) {
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
      return new DataKeyCache.DecryptEntry(
          FrameKey.of(pt, SUITE_AES256_GCM_COMMIT, root.cipherProvider), epoch);
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
}
