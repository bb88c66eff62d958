package com.panops.crypto.jdbc;

import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.KmsUnavailableException;
import com.panops.crypto.PanopsCryptoException;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLDataException;
import java.sql.SQLException;
import java.sql.SQLNonTransientException;
import java.sql.SQLTransientException;

/** Turns core exceptions into the {@link SqlStates} exceptions. */
final class SqlErrors {
  private SqlErrors() {}

  /**
   * The SQLException for {@code e}, naming {@code where} (e.g. {@code column mail.subject}). Row
   * keys are never put in messages: they may be sensitive.
   */
  static SQLException of(PanopsCryptoException e, String where) {
    if (e instanceof KeyRevokedException) {
      KeyRevokedException k = (KeyRevokedException) e;
      return new SQLNonTransientException(
          where + ": KMS key " + k.keyArn() + " is revoked (" + k.reason() + ")",
          SqlStates.KEY_REVOKED,
          e);
    }
    if (e instanceof IntegrityException) {
      return new SQLDataException(
          where
              + ": encrypted value failed its integrity check (tampered with, or moved from"
              + " another row, column, table or tenant)",
          SqlStates.INTEGRITY,
          e);
    }
    if (e instanceof KmsUnavailableException) {
      return new SQLTransientException(
          where + ": KMS unavailable: " + e.getMessage(), SqlStates.KMS_UNAVAILABLE, e);
    }
    return new SQLException(where + ": " + e.getMessage(), SqlStates.CRYPTO_FAILURE, e);
  }

  /** For stream reads: an IOException whose cause is the SQLException of {@link #of}. */
  static IOException io(PanopsCryptoException e, String where) {
    SQLException s = of(e, where);
    return new IOException(s.getMessage(), s);
  }

  /**
   * Rolls {@code c} back after {@code failure}, which the caller then throws; a failure of the
   * rollback is added to it as suppressed.
   */
  static void rollBack(Connection c, Exception failure) {
    try {
      c.rollback();
    } catch (SQLException r) {
      failure.addSuppressed(r);
    }
  }
}
