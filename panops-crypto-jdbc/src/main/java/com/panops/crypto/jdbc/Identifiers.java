package com.panops.crypto.jdbc;

import java.util.regex.Pattern;

/**
 * SQL identifiers that this adapter interpolates into statements (tables and columns of {@link
 * ColumnRotation}, the key table of {@link BlindIndexKeyStore}). They are checked against a strict
 * pattern and then double-quoted, so no caller-supplied name can change a statement's meaning.
 * Quoted names are case-sensitive: a table created as {@code CREATE TABLE Mail} is {@code mail}.
 */
final class Identifiers {
  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]{0,62}");

  private Identifiers() {}

  /** Checks a simple name (1..63 characters of letters, digits, {@code _}, {@code $}). */
  static String check(String name, String what) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          what + " must be a simple SQL name ([A-Za-z_][A-Za-z0-9_$]{0,62}): " + name);
    }
    return name;
  }

  /** Checks {@code name} or {@code schema.name}. */
  static String checkQualified(String name, String what) {
    if (name == null) {
      throw new IllegalArgumentException(what + " must not be null");
    }
    String[] parts = name.split("\\.", -1);
    if (parts.length > 2) {
      throw new IllegalArgumentException(what + " must be name or schema.name: " + name);
    }
    for (String p : parts) {
      check(p, what);
    }
    return name;
  }

  /** The quoted form: {@code "schema"."name"}. */
  static String quote(String checkedName) {
    StringBuilder sb = new StringBuilder();
    for (String p : checkedName.split("\\.")) {
      if (sb.length() > 0) {
        sb.append('.');
      }
      sb.append('"').append(p).append('"');
    }
    return sb.toString();
  }
}
