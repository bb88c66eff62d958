package com.panops.crypto.jdbc;

import com.panops.crypto.format.MessageFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * The statements of a {@link ColumnRotation}: the batch reads of header prefixes (the first batch,
 * and each after the last primary key read), and one compare-and-set header update per column.
 */
final class RotationSql {
  final String first;
  final String next;
  final List<String> updates;

  RotationSql(
      String table, String primaryKey, String tenantColumn, List<String> columns, int batchSize) {
    String pk = Identifiers.quote(primaryKey);
    String sel = selectPrefixes(table, pk, tenantColumn, columns);
    this.first = sel + " ORDER BY " + pk + " LIMIT " + batchSize;
    this.next = sel + " AND " + pk + " > ? ORDER BY " + pk + " LIMIT " + batchSize;
    List<String> u = new ArrayList<>();
    for (String col : columns) {
      u.add(compareAndSetHeader(table, pk, Identifiers.quote(col)));
    }
    this.updates = List.copyOf(u);
  }

  /** {@code SELECT pk, substring(col FROM 1 FOR max header), ... WHERE true [AND tenant = ?]}. */
  private static String selectPrefixes(
      String table, String pk, String tenantColumn, List<String> columns) {
    StringBuilder sel = new StringBuilder("SELECT ").append(pk);
    for (String col : columns) {
      sel.append(", substring(")
          .append(Identifiers.quote(col))
          .append(" FROM 1 FOR ")
          .append(MessageFormat.MAX_HEADER_LENGTH)
          .append(")");
    }
    sel.append(" FROM ").append(Identifiers.quote(table)).append(" WHERE true");
    if (tenantColumn != null) {
      sel.append(" AND ").append(Identifiers.quote(tenantColumn)).append(" = ?");
    }
    return sel.toString();
  }

  /**
   * Replaces the header in place, on the server, only while the value still starts with the old
   * header: parameters new header, old length, primary key, old length, old header.
   */
  private static String compareAndSetHeader(String table, String pk, String q) {
    return "UPDATE "
        + Identifiers.quote(table)
        + " SET "
        + q
        + " = overlay("
        + q
        + " PLACING ? FROM 1 FOR ?) WHERE "
        + pk
        + " = ? AND substring("
        + q
        + " FROM 1 FOR ?) = ?";
  }
}
