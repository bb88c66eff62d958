package com.panops.crypto.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.panops.crypto.PanopsCrypto;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * A ranged read is two GETs; the object may be replaced in between. The reader gets the bytes of
 * one object, never a 412 it did not ask for, and never ciphertext as plaintext.
 */
class RangedPinningIT {
  /** Runs {@code action} once, just before the next GET of a range that does not start at 0. */
  static final class BeforeSecondGet implements ExecutionInterceptor {
    final AtomicReference<Runnable> action = new AtomicReference<>();
    final AtomicInteger secondGets = new AtomicInteger();

    @Override
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
      if (context.request() instanceof GetObjectRequest) {
        String range = ((GetObjectRequest) context.request()).range();
        if (range != null && !range.startsWith("bytes=0-")) {
          secondGets.incrementAndGet();
          Runnable r = action.getAndSet(null);
          if (r != null) {
            r.run();
          }
        }
      }
    }
  }

  /**
   * Object "k" in a fresh bucket, a writer, and a reader whose second GET of a range first runs
   * what {@link #replaceJustBeforeTheSecondGet} set.
   */
  private static final class Race implements AutoCloseable {
    final S3TestEnv env = S3TestEnv.get();
    final String bucket = env.freshBucket();
    final BeforeSecondGet hook = new BeforeSecondGet();
    final PanopsCrypto crypto = env.crypto("t", env.freshKey());
    final EncryptingS3Client reader;
    final EncryptingS3Client writer;

    Race(UnaryOperator<EncryptingS3Client.Builder> readerOptions) {
      reader = readerOptions.apply(env.client(crypto, "t", hook)).build();
      writer = env.client(crypto, "t").build();
    }

    void put(byte[] body) {
      writer.putObject(r -> r.bucket(bucket).key("k"), RequestBody.fromBytes(body));
    }

    void replaceJustBeforeTheSecondGet(byte[] body) {
      hook.action.set(() -> put(body));
    }

    byte[] read(String range) {
      return reader.getObjectAsBytes(r -> r.bucket(bucket).key("k").range(range)).asByteArray();
    }

    @Override
    public void close() {
      writer.close();
      reader.close();
      crypto.close();
    }
  }

  @Test
  void anObjectReplacedBetweenTheTwoGets_isReadAgainFromItsNewHeader() {
    byte[] v1 = S3TestEnv.bytes(1, 200_000);
    byte[] v2 = S3TestEnv.bytes(2, 200_000);
    try (Race race = new Race(b -> b)) {
      race.put(v1);
      race.replaceJustBeforeTheSecondGet(v2);
      byte[] got = race.read("bytes=150000-150099");
      assertArrayEquals(Arrays.copyOfRange(v2, 150_000, 150_100), got);
      assertEquals(2, race.hook.secondGets.get(), "the pinned GET failed once and was made again");
    }
  }

  @Test
  void aPlaintextObjectReplacedByAnEncryptedOne_isNeverReturnedAsCiphertext() {
    byte[] legacy = S3TestEnv.bytes(3, 100_000);
    byte[] fresh = S3TestEnv.bytes(4, 100_000);
    try (Race race = new Race(EncryptingS3Client.Builder::allowLegacyPlaintextReads)) {
      race.env.raw.putObject(r -> r.bucket(race.bucket).key("k"), RequestBody.fromBytes(legacy));
      assertArrayEquals(
          Arrays.copyOfRange(legacy, 50_000, 50_010),
          race.read("bytes=50000-50009"),
          "a legacy plaintext object reads as stored");
      race.replaceJustBeforeTheSecondGet(fresh);
      byte[] got = race.read("bytes=50000-50009");
      assertArrayEquals(Arrays.copyOfRange(fresh, 50_000, 50_010), got);
    }
  }

  @Test
  void aRangedReadOfAnEmptyEncryptedObject_is416() {
    S3TestEnv env = S3TestEnv.get();
    String bucket = env.freshBucket();
    try (PanopsCrypto crypto = env.crypto("t", env.freshKey());
        EncryptingS3Client s3 = env.client(crypto, "t").build()) {
      s3.putObject(r -> r.bucket(bucket).key("empty"), RequestBody.empty());
      assertEquals(0, s3.getObjectAsBytes(r -> r.bucket(bucket).key("empty")).asByteArray().length);
      for (String range : new String[] {"bytes=0-0", "bytes=0-", "bytes=-1"}) {
        S3Exception e =
            assertThrows(
                S3Exception.class,
                () -> s3.getObjectAsBytes(r -> r.bucket(bucket).key("empty").range(range)),
                range);
        assertEquals(416, e.statusCode(), range);
      }
    }
  }
}
