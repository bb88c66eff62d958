package com.panops.crypto.spring;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The module README shows the sample application that {@code SampleApplicationIT} runs: this keeps
 * the README's code blocks identical to the sources.
 */
class ReadmeSampleTest {
  private static final Path README = Path.of("README.md");

  @Test
  void readmeShowsTheSampleApplicationThatRunsAsATest() throws IOException {
    assertEquals(
        between(
            Files.readString(
                Path.of(
                    "src/test/java/com/panops/crypto/spring/sample/SampleWorkerApplication.java")),
            "// snippet: sample-application\n",
            "// end snippet"),
        readmeBlock("sample-application"));
  }

  @Test
  void readmeShowsTheSampleApplicationsSettings() throws IOException {
    assertEquals(
        between(
            Files.readString(Path.of("src/test/resources/application.yml")),
            "# snippet: sample-application-yml\n",
            "# end snippet"),
        readmeBlock("sample-application-yml"));
  }

  private static String readmeBlock(String name) throws IOException {
    String readme = Files.readString(README);
    String afterMarker = readme.substring(readme.indexOf("<!-- snippet: " + name + " -->"));
    String fenceOpen = afterMarker.substring(afterMarker.indexOf("```"));
    return between(fenceOpen, fenceOpen.substring(0, fenceOpen.indexOf('\n') + 1), "```");
  }

  private static String between(String text, String start, String end) {
    int from = text.indexOf(start);
    if (from < 0) {
      throw new AssertionError("no " + start.strip());
    }
    from += start.length();
    int to = text.indexOf(end, from);
    if (to < 0) {
      throw new AssertionError("no " + end);
    }
    return text.substring(from, to);
  }
}
