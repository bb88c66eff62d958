package com.panops.crypto;

/**
 * Told when a key is latched as revoked or restored. Called on the thread that observed the change
 * (a request thread or the probe scheduler): must be thread-safe, quick, and must not call back
 * into the library on that key. Exceptions are logged and ignored.
 */
@FunctionalInterface
public interface RevocationListener {
  void onEvent(RevocationEvent event);
}
