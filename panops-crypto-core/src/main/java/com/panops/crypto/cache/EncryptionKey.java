package com.panops.crypto.cache;

import com.panops.crypto.format.FrameKey;
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
  private volatile boolean retired;

  public EncryptionKey(
      FrameKey key,
      byte[] template,
      int boundLength,
      String keyArn,
      long maxMessages,
      long maxBytes) {
    this.key = key;
    this.template = template;
    this.boundLength = boundLength;
    this.keyArn = keyArn;
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  /**
   * Reserves one message of {@code plaintextBytes} (0 when unknown, for streams) and {@code frames}
   * GCM invocations. Returns false, and retires the key, when a limit is reached.
   */
  public boolean tryUse(long plaintextBytes, long frames) {
    if (retired) {
      return false;
    }
    long used = messages.sum();
    // A first message larger than the byte limit still gets a fresh key to itself.
    if (used >= maxMessages
        || (used > 0 && bytes.sum() + plaintextBytes > maxBytes)
        || invocations.sum() + frames > MAX_INVOCATIONS) {
      retired = true;
      return false;
    }
    messages.increment();
    bytes.add(plaintextBytes);
    invocations.add(frames);
    return true;
  }

  /** Accounts a frame of a stream sealed under this key. */
  public void frameSealed(int plaintextBytes) {
    bytes.add(plaintextBytes);
    invocations.increment();
    if (bytes.sum() > maxBytes || invocations.sum() > MAX_INVOCATIONS) {
      retired = true;
    }
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
