package com.panops.crypto.testkit.internal.kms;

import java.time.Instant;

/**
 * A key's state and policy as one data-plane request sees it; {@code created} is false for the view
 * of a key that is not yet visible (the moments after CreateKey).
 */
record KeyView(boolean created, KeyState state, Instant deletionDate, KeyPolicy policy) {

  /** The view of a key that requests may not see yet. */
  static final KeyView NOT_YET_CREATED = new KeyView(false, null, null, null);
}
