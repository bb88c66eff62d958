package com.panops.crypto.jdbc;

import com.panops.crypto.KeyContext;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCryptoException;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.format.EncryptingInputStream;
import com.panops.crypto.format.EncryptingInputStream.SourceLength;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * A stream parameter's ciphertext: the core's {@link EncryptingInputStream} over exactly {@code
 * plaintextLength} bytes of the caller's stream, as JDBC specifies for {@code setBinaryStream(int,
 * InputStream, long)}, with the exact ciphertext length known before the driver reads a byte (the
 * constructor pumps until the header is out: at most one frame).
 *
 * <p>A driver reading a parameter stream expects only IOExceptions, so core exceptions raised while
 * reading (a revocation latched mid-stream) become IOExceptions whose cause is the adapter's
 * SQLException. Closing zeroes the buffers but leaves the caller's stream open: it is theirs. Not
 * thread-safe.
 */
final class ParameterStream extends InputStream {
  private final EncryptingInputStream in;
  private final String where;

  ParameterStream(
      TenantCrypto tenant,
      InputStream source,
      long plaintextLength,
      KeyContext keyContext,
      MessageAad aad,
      String where)
      throws IOException {
    this.where = where;
    this.in =
        new EncryptingInputStream(
            sink -> tenant.encryptingStream(sink, keyContext, aad),
            new FilterInputStream(source) {
              @Override
              public void close() {
                // the caller's stream stays open
              }
            },
            plaintextLength,
            SourceLength.EXACT,
            where + ": stream");
    try {
      in.header();
    } catch (PanopsCryptoException e) {
      throw SqlErrors.io(e, where);
    }
  }

  /** The exact number of bytes this stream yields. */
  long ciphertextLength() {
    return in.ciphertextLength();
  }

  @Override
  public int read() throws IOException {
    try {
      return in.read();
    } catch (PanopsCryptoException e) {
      throw SqlErrors.io(e, where);
    }
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    try {
      return in.read(b, off, len);
    } catch (PanopsCryptoException e) {
      throw SqlErrors.io(e, where);
    }
  }

  @Override
  public int available() {
    return in.available();
  }

  /** Zeroes the buffers; the caller's stream is left open (its close is not forwarded). */
  @Override
  public void close() {
    try {
      in.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // unreachable: the source's close does nothing
    }
  }
}
