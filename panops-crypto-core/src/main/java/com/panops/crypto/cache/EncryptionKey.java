package com.panops.crypto.cache;

import com.panops.crypto.format.FrameKey;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * An encrypt-side cache entry: a data key with the header template every message under it starts
 * with, and its usage. Usage counters are {@link LongAdder}s so that threads encrypting under the
 * same key do not contend on one cache line; the limit check reads their sums, so concurrent
 * threads can overshoot a limit by at most one message each. Internal.
 */
public final class EncryptionKey {
  /**
   * Hard ceiling of GCM invocations (frames) under one data key, whatever the configuration: with
   * random 96-bit message ids this keeps the probability of any nonce collision below 2^-35
   * (docs/FORMAT.md, "Nonce safety").
   */
  public static final long MAX_INVOCATIONS = 1L << 31;

  private final FrameKey key;
  private final byte[] template;
  private final int boundLength;
  private final String keyArn;
  private final long maxMessages;
  private final long maxBytes;
  private final LongAdder messages = new LongAdder();
  private final LongAdder bytes = new LongAdder();
  private final LongAdder invocations = new LongAdder();
  private final long epoch;
  private final long keyId;
  private final byte[] compactContext;
  private volatile boolean retired;

  // ---- refresh ahead (see DataKeyCache): when this key nears a limit, its successor is loaded in
  // the background and takes over once this key can serve no more. State of the successor:
  // null (none asked for), a Pending (a load is in flight; a request that finds this key spent
  // waits for it rather than loading a second key), FAILED (the load failed: no second try on
  // this key), an EncryptionKey (ready), TAKEN (installed in the cache), DEAD (this key left the
  // cache: a successor arriving now is retired at once).
  static final class Pending extends java.util.concurrent.CompletableFuture<Void> {
    private final java.util.concurrent.atomic.AtomicBoolean claimed =
        new java.util.concurrent.atomic.AtomicBoolean();

    /** The load; set before the Pending is published to a refresher or a request. */
    volatile Runnable body;

    /**
     * True for the one caller that runs the load: a refresher thread, or a request that found the
     * key spent while the load was still queued.
     */
    boolean claim() {
      return body != null && claimed.compareAndSet(false, true);
    }
  }

  static final Object FAILED = new Object();
  static final Object TAKEN = new Object();
  static final Object DEAD = new Object();

  final AtomicReference<Object> successor = new AtomicReference<>();

  /** Reaching any of these (3/4 of each limit) asks for the successor. */
  private final long refreshMessages;

  private final long refreshBytes;
  private static final long REFRESH_INVOCATIONS = MAX_INVOCATIONS / 4 * 3;

  /** Set once a usage threshold is reached. */
  private volatile boolean refreshWanted;

  /** Ticker time when the data key was generated, and from when it is past its age; set once. */
  volatile long bornNanos;

  volatile long expiresNanos = Long.MAX_VALUE;
  volatile long refreshAtNanos = Long.MAX_VALUE;

  /**
   * @param epoch the revocation epoch of the CMK when the load of this key started
   */
  public EncryptionKey(
      FrameKey key,
      byte[] template,
      int boundLength,
      String keyArn,
      long maxMessages,
      long maxBytes,
      long epoch) {
    this(key, template, boundLength, keyArn, maxMessages, maxBytes, epoch, 0, null);
  }

  /**
   * A key registered for compact values (docs/FORMAT.md, "Compact values").
   *
   * @param keyId the registered key id
   * @param compactContext {@code u16 tenantLen || tenant || keyContext}, bound into every value
   */
  public EncryptionKey(
      FrameKey key,
      byte[] template,
      int boundLength,
      String keyArn,
      long maxMessages,
      long maxBytes,
      long epoch,
      long keyId,
      byte[] compactContext) {
    this.keyId = keyId;
    this.compactContext = compactContext;
    this.epoch = epoch;
    this.key = key;
    this.template = template;
    this.boundLength = boundLength;
    this.keyArn = keyArn;
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
    this.refreshMessages = maxMessages - Math.max(1, maxMessages / 4);
    this.refreshBytes = maxBytes - Math.max(1, maxBytes / 4);
  }

  /**
   * Reserves one message of {@code plaintextBytes} and {@code frames} GCM invocations. Returns
   * false, and retires the key, when a limit is reached. A stream reserves 0 bytes and 0 frames
   * here (it reserves each frame with {@link #tryFrame}), and may only start on a key whose byte
   * limit is not yet reached.
   */
  public boolean tryUse(long plaintextBytes, long frames) {
    if (retired) {
      return false;
    }
    long used = messages.sum();
    long usedBytes = bytes.sum();
    // A first message larger than the byte limit still gets a fresh key to itself.
    if (used >= maxMessages
        || (used > 0 && (usedBytes + plaintextBytes > maxBytes || usedBytes >= maxBytes))) {
      retired = true;
      return false;
    }
    // The hard ceiling: add first, then check (as tryFrame does), and undo on failure. Checking
    // before adding would let two racing messages both see room for one and together cross it.
    invocations.add(frames);
    if (invocations.sum() > MAX_INVOCATIONS) {
      invocations.add(-frames);
      retired = true;
      return false;
    }
    messages.increment();
    bytes.add(plaintextBytes);
    if (!refreshWanted
        && (used + 1 >= refreshMessages
            || usedBytes + plaintextBytes >= refreshBytes
            || invocations.sum() >= REFRESH_INVOCATIONS)) {
      refreshWanted = true;
    }
    return true;
  }

  /**
   * Whether this key's successor should be asked for now: none was asked for yet, and a usage
   * threshold (3/4 of the message, byte or frame limit) was reached or the key is within the
   * refresh lead of its maximum age.
   */
  boolean refreshDue(long now) {
    return successor.get() == null && (refreshWanted || now - refreshAtNanos >= 0);
  }

  /** Whether the key is at or past its maximum age at {@code now} (ticker time). */
  public boolean expired(long now) {
    return now - expiresNanos >= 0;
  }

  /** Stamps the key's generation time; its age limit and refresh point follow from it. */
  void born(long now, long maxAgeNanos, long leadNanos) {
    bornNanos = now;
    refreshAtNanos = now + maxAgeNanos - leadNanos;
    expiresNanos = now + maxAgeNanos;
  }

  /** This key left the cache: a successor that is ready (or arrives later) is retired. */
  void dropSuccessor() {
    Object n = successor.getAndSet(DEAD);
    if (n instanceof Pending p) {
      p.complete(null); // a request waiting for it looks again (its load, if it runs, is retired)
    } else if (n instanceof EncryptionKey f) {
      f.key().retire();
      f.dropSuccessor();
    }
  }

  /**
   * Reserves one frame of {@code plaintextBytes} for a stream that already holds a message on this
   * key. The hard ceiling of {@link #MAX_INVOCATIONS} is never crossed: returns false (and the
   * stream must fail) when it would be. Crossing the byte limit retires the key for new messages;
   * the stream that crosses it may finish its own message (docs/FORMAT.md, "Limits per data key").
   */
  public boolean tryFrame(int plaintextBytes) {
    invocations.increment();
    if (invocations.sum() > MAX_INVOCATIONS) {
      invocations.decrement();
      retired = true;
      return false;
    }
    bytes.add(plaintextBytes);
    long b = bytes.sum();
    if (b >= maxBytes) {
      retired = true;
    }
    if (!refreshWanted && (b >= refreshBytes || invocations.sum() >= REFRESH_INVOCATIONS)) {
      refreshWanted = true;
    }
    return true;
  }

  /** The revocation epoch of the CMK when the load of this key started. */
  public long epoch() {
    return epoch;
  }

  /** Whether a limit was reached: the key takes no new message. */
  public boolean isRetired() {
    return retired;
  }

  /** The data key. */
  public FrameKey key() {
    return key;
  }

  /** The header every message under this key starts with (message id zero); not to be modified. */
  public byte[] template() {
    return template;
  }

  /** Length of the bound part of the template. */
  public int boundLength() {
    return boundLength;
  }

  /** The registered key id (compact keys only). */
  public long keyId() {
    return keyId;
  }

  /** The compact context bound into every value, or {@code null} for a version-1 key. */
  public byte[] compactContext() {
    return compactContext;
  }

  /** The CMK that wraps the data key. */
  public String keyArn() {
    return keyArn;
  }

  /** Messages encrypted so far (approximate under concurrency). */
  public long messagesUsed() {
    return messages.sum();
  }

  @Override
  public String toString() {
    return "EncryptionKey[" + keyArn + ", messages=" + messages.sum() + "]";
  }
}
