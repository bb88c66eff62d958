package com.panops.crypto.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class IdentifiersTest {
  @Test
  void simpleAndSchemaQualifiedNames_areQuoted() {
    assertEquals("\"mail\"", Identifiers.quote(Identifiers.checkQualified("mail", "t")));
    assertEquals(
        "\"app\".\"mail_2\"", Identifiers.quote(Identifiers.checkQualified("app.mail_2", "t")));
  }

  @Test
  void anythingThatCouldChangeAStatement_isRefused() {
    for (String bad :
        new String[] {
          "", "1abc", "a b", "a\"b", "a;drop table x", "a.b.c", "a.", ".a", "a-b", "x".repeat(64)
        }) {
      assertThrows(IllegalArgumentException.class, () -> Identifiers.checkQualified(bad, "t"), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> Identifiers.check("a.b", "c"));
    assertThrows(IllegalArgumentException.class, () -> Identifiers.check(null, "c"));
  }
}
