package com.panops.crypto.demo;

/**
 * A separate JVM that keeps {@code args[0]} threads busy computing until it is killed (or its
 * standard input closes): the load {@link DemoUnderLoadIT} puts on the machine's cores.
 */
public final class CpuBurner {
  private CpuBurner() {}

  /** The threads' results, so the JIT cannot drop the loops. */
  static volatile long sink;

  public static void main(String[] args) throws Exception {
    int threads = Integer.parseInt(args[0]);
    for (int i = 0; i < threads; i++) {
      long seed = 0x9E3779B97F4A7C15L * (i + 1);
      Thread t =
          new Thread(
              () -> {
                long x = seed;
                while (true) {
                  for (int j = 0; j < 1_000_000; j++) {
                    x ^= x << 13;
                    x ^= x >>> 7;
                    x ^= x << 17;
                  }
                  sink = x;
                }
              },
              "burn-" + i);
      t.setDaemon(true);
      t.start();
    }
    System.out.println("burning " + threads + " threads");
    System.out.flush();
    // exits when the parent closes our stdin (or kills us)
    while (System.in.read() >= 0) {
      // keep waiting
    }
  }
}
