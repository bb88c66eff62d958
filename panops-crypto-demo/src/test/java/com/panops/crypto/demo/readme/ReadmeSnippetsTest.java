package com.panops.crypto.demo.readme;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every Java block in README.md marked {@code <!-- snippet: NAME -->} is, line for line, the region
 * {@code // snippet: NAME} of {@link ReadmeExamplesIT}, which runs it: the README's examples
 * compile and work.
 */
class ReadmeSnippetsTest {
  static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  static Map<String, List<String>> readmeSnippets() throws IOException {
    List<String> lines = Files.readAllLines(ROOT.resolve("README.md"), StandardCharsets.UTF_8);
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i).trim();
      if (l.startsWith("<!-- snippet: ") && l.endsWith("-->")) {
        String name = l.substring("<!-- snippet: ".length(), l.length() - 3).trim();
        assertEquals("```java", lines.get(i + 1).trim(), "fence after snippet " + name);
        List<String> body = new ArrayList<>();
        int j = i + 2;
        while (!lines.get(j).trim().equals("```")) {
          body.add(lines.get(j));
          j++;
        }
        out.put(name, body);
      }
    }
    return out;
  }

  static Map<String, List<String>> codeSnippets() throws IOException {
    Path src =
        ROOT.resolve(
            "panops-crypto-demo/src/test/java/com/panops/crypto/demo/readme/ReadmeExamplesIT.java");
    List<String> lines = Files.readAllLines(src, StandardCharsets.UTF_8);
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i).trim();
      if (l.startsWith("// snippet: ")) {
        String name = l.substring("// snippet: ".length()).trim();
        List<String> body = new ArrayList<>();
        int j = i + 1;
        while (!lines.get(j).trim().equals("// end snippet")) {
          body.add(lines.get(j));
          j++;
        }
        out.put(name, dedent(body));
      }
    }
    return out;
  }

  static List<String> dedent(List<String> body) {
    int indent = Integer.MAX_VALUE;
    for (String s : body) {
      if (!s.isBlank()) {
        indent = Math.min(indent, s.length() - s.stripLeading().length());
      }
    }
    List<String> out = new ArrayList<>();
    for (String s : body) {
      out.add(s.isBlank() ? "" : s.substring(indent));
    }
    return out;
  }

  @Test
  void everyReadmeSnippet_isTheCodeThatReadmeExamplesItRuns() throws IOException {
    Map<String, List<String>> readme = readmeSnippets();
    Map<String, List<String>> code = codeSnippets();
    assertFalse(code.isEmpty());
    assertEquals(code.keySet(), readme.keySet(), "snippet names");
    for (String name : code.keySet()) {
      assertEquals(
          String.join("\n", code.get(name)),
          String.join("\n", readme.get(name)),
          "README snippet '" + name + "' differs from ReadmeExamplesIT");
    }
  }
}
