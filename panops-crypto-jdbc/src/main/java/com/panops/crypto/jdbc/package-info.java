/**
 * Column encryption for JDBC (PostgreSQL), bound to its row, with TLS enforced.
 *
 * <ul>
 *   <li>{@link com.panops.crypto.jdbc.EncryptedColumn}: bind and read encrypted {@code bytea}
 *       values (String, byte[], streams), each bound to tenant, table, column and row key.
 *   <li>{@link com.panops.crypto.jdbc.BlindIndex} and {@link
 *       com.panops.crypto.jdbc.BlindIndexKeyStore}: equality search through a keyed HMAC of a
 *       normalised value, with the HMAC key wrapped by the tenant's CMK.
 *   <li>{@link com.panops.crypto.jdbc.ColumnRotation}: re-wrap a table's values to a new CMK, in
 *       resumable batches.
 *   <li>{@link com.panops.crypto.jdbc.TlsEnforcingDataSource}: refuses connections without {@code
 *       sslmode=verify-full}.
 *   <li>{@link com.panops.crypto.jdbc.SqlStates}: the SQLStates of the adapter's exceptions.
 * </ul>
 *
 * See {@code panops-crypto-jdbc/README.md}.
 */
package com.panops.crypto.jdbc;
