package com.panops.crypto.fleet;

/** How the coordinator waits before it reconnects: {@link Thread#sleep} unless a test says else. */
@FunctionalInterface
interface Sleeper {
  Sleeper SYSTEM = Thread::sleep;

  void sleep(long millis) throws InterruptedException;
}
