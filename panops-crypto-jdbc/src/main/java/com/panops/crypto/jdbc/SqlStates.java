package com.panops.crypto.jdbc;

/**
 * The SQLStates of the {@link java.sql.SQLException}s this adapter raises. They are in class {@code
 * PC}, which the SQL standard leaves to implementations (classes starting with I..Z), so no server
 * or driver error is ever mistaken for one of them. The core exception is always the {@linkplain
 * java.sql.SQLException#getCause() cause}.
 *
 * <table>
 *   <caption>SQLStates</caption>
 *   <tr><th>state</th><th>type</th><th>cause</th><th>meaning</th></tr>
 *   <tr><td>{@value #KEY_REVOKED}</td><td>{@link java.sql.SQLNonTransientException}</td>
 *       <td>{@link com.panops.crypto.KeyRevokedException}</td>
 *       <td>the tenant's KMS key is disabled, pending deletion, denied to us, or otherwise latched
 *       as revoked: nothing under it is decrypted until the customer restores it</td></tr>
 *   <tr><td>{@value #INTEGRITY}</td><td>{@link java.sql.SQLDataException}</td>
 *       <td>{@link com.panops.crypto.IntegrityException}</td>
 *       <td>a stored value failed authentication: tampered with, truncated, or copied from another
 *       row, column, table or tenant</td></tr>
 *   <tr><td>{@value #KMS_UNAVAILABLE}</td><td>{@link java.sql.SQLTransientException}</td>
 *       <td>{@link com.panops.crypto.KmsUnavailableException}</td>
 *       <td>encryption needed KMS and KMS was unavailable (throttled, 5xx, network): retry
 *       later</td></tr>
 *   <tr><td>{@value #CRYPTO_FAILURE}</td><td>{@link java.sql.SQLException}</td>
 *       <td>another {@link com.panops.crypto.PanopsCryptoException}</td>
 *       <td>any other failure of the crypto core</td></tr>
 *   <tr><td>{@value #INSECURE_TRANSPORT}</td>
 *       <td>{@link java.sql.SQLNonTransientConnectionException}</td><td>none</td>
 *       <td>{@link TlsEnforcingDataSource} refused a connection whose settings do not verify the
 *       server's certificate and host name</td></tr>
 * </table>
 */
public final class SqlStates {
  /** The tenant's KMS key is revoked. */
  public static final String KEY_REVOKED = "PC001";

  /** A stored value failed its integrity check. */
  public static final String INTEGRITY = "PC002";

  /** KMS was unavailable for an encryption; retryable. */
  public static final String KMS_UNAVAILABLE = "PC003";

  /** Another failure of the crypto core. */
  public static final String CRYPTO_FAILURE = "PC000";

  /** A connection without {@code sslmode=verify-full} was refused. */
  public static final String INSECURE_TRANSPORT = "PC010";

  private SqlStates() {}
}
