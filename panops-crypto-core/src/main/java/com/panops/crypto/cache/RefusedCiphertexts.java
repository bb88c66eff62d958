package com.panops.crypto.cache;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import com.panops.crypto.kms.KmsCallException;
import com.panops.crypto.metrics.CryptoMetrics;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The encrypted data keys that KMS refused as one ciphertext's failure ({@code
 * InvalidCiphertextException}, {@code IncorrectKeyException}): a tampered row, a value moved from
 * another tenant. Remembered so that reading such a row again costs no KMS call: without this, each
 * read cost a refused {@code Decrypt} and a probe, and a retry loop on one bad row drove the
 * account's shared KMS quota into throttling, which latched the CMK for every tenant on it.
 *
 * <p>Keyed by the whole decrypt-side identity (tenant, CMK, suite, key context, every byte of the
 * encrypted data key), so a verdict is never consulted for another ciphertext. A refusal is
 * remembered at once (so concurrent readers of the row do not ask KMS again) and is <em>judged</em>
 * once a probe of the CMK has succeeded after it: a judged refusal is answered {@code
 * IntegrityException} without a KMS call, after the latch check (a latched CMK still reads as
 * revoked). Only refusals: nothing here can make a ciphertext decrypt. Bounded ({@value
 * #MAX_ENTRIES} entries, least-recently used out first) and expiring ({@link #EXPIRY} after it was
 * remembered): a refusal KMS made in error costs at most that long. Thread-safe. Internal.
 */
public final class RefusedCiphertexts {
  private static final Logger LOG = LoggerFactory.getLogger(RefusedCiphertexts.class);

  /** The most refusals remembered. */
  public static final int MAX_ENTRIES = 10_000;

  /** How long a refusal is remembered. */
  public static final Duration EXPIRY = Duration.ofMinutes(10);

  /** How often, at most, the reads of refused ciphertexts are logged. */
  public static final Duration LOG_INTERVAL = Duration.ofMinutes(1);

  /** A refusal of one ciphertext's data key. */
  public static final class Refusal {
    private final KmsCallException refusal;
    private volatile boolean judged;

    Refusal(KmsCallException refusal) {
      this.refusal = refusal;
    }

    /** KMS's refusal, as the gateway reported it. */
    public KmsCallException refusal() {
      return refusal;
    }

    /** Whether a probe of the CMK succeeded after KMS refused: the ciphertext, not the key. */
    public boolean judged() {
      return judged;
    }
  }

  private final Cache<DecryptKey, Refusal> refusals;
  private final CryptoMetrics metrics;
  private final Ticker ticker;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong lastLog;

  public RefusedCiphertexts(CryptoMetrics metrics, Ticker ticker) {
    this.metrics = metrics;
    this.ticker = ticker;
    this.refusals =
        Caffeine.newBuilder()
            .maximumSize(MAX_ENTRIES)
            .expireAfterWrite(EXPIRY)
            .ticker(ticker)
            .executor(Runnable::run)
            .build();
    this.lastLog = new AtomicLong(ticker.read() - LOG_INTERVAL.toNanos());
  }

  /** The refusal remembered for the ciphertext of {@code view}, or {@code null}. */
  public Refusal find(DecryptKey view) {
    return refusals.getIfPresent(view);
  }

  /** Remembers KMS's refusal of {@code owned} (an owned key: it is stored). */
  public void remember(DecryptKey owned, KmsCallException refusal) {
    refusals.asMap().putIfAbsent(owned, new Refusal(refusal));
  }

  /** A probe after KMS's refusal of {@code view}'s ciphertext succeeded: the ciphertext is bad. */
  public void judge(DecryptKey view) {
    Refusal r = refusals.getIfPresent(view);
    if (r != null) {
      r.judged = true;
    }
  }

  /**
   * A read of a refused ciphertext of {@code view} was refused ({@code fromMemory}: without asking
   * KMS): counted in the metrics and logged at most once per {@link #LOG_INTERVAL}, with the count
   * since the last line. Names the tenant and the CMK, never the ciphertext.
   */
  public void readRefused(DecryptKey view, boolean fromMemory) {
    metrics.ciphertextRefused(fromMemory);
    reads.incrementAndGet();
    long now = ticker.read();
    long last = lastLog.get();
    if (now - last >= LOG_INTERVAL.toNanos() && lastLog.compareAndSet(last, now)) {
      LOG.warn(
          "{} read(s) of ciphertexts whose data key KMS refused (tampered, or not written for this"
              + " tenant, key context and CMK) since the last such line (one a minute at most), the"
              + " latest for tenant {} under KMS key {}; {} such ciphertext(s) remembered and"
              + " refused without KMS calls",
          Math.max(1, reads.getAndSet(0)),
          view.tenant(),
          view.keyArn(),
          refusals.estimatedSize());
    }
  }

  /** Forgets everything (on close). */
  public void clear() {
    refusals.invalidateAll();
  }
}
