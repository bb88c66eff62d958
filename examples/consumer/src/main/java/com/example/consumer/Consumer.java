package com.example.consumer;

import static com.example.consumer.Check.check;

import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.fleet.PostgresProbeCoordinator;
import com.panops.crypto.jdbc.TlsEnforcingDataSource;
import com.panops.crypto.s3.EncryptingS3Client;
import com.panops.crypto.testkit.LocalKms;
import com.panops.crypto.testkit.postgres.TlsPostgres;
import com.panops.crypto.testkit.s3.S3MockServer;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Runs the root README's core, S3 and JDBC examples against LocalKms, S3Mock and PostgreSQL with
 * TLS, using panops-crypto as installed artifacts. Started twice by the build: on the class path
 * and on the module path; on the module path it also checks that panops-crypto's modules are
 * named modules that export exactly their public API packages.
 *
 * <p>Arguments: the README, and the source of {@link ReadmeExamples}.
 */
public final class Consumer {
  /** The packages a user may use; every other package of a panops-crypto module is internal. */
  static final Map<String, Set<String>> PUBLIC_API =
      Map.of(
          "com.panops.crypto", Set.of("com.panops.crypto", "com.panops.crypto.metrics"),
          "com.panops.crypto.s3", Set.of("com.panops.crypto.s3"),
          "com.panops.crypto.jdbc", Set.of("com.panops.crypto.jdbc"),
          "com.panops.crypto.fleet", Set.of("com.panops.crypto.fleet"));

  private Consumer() {}

  public static void main(String[] args) throws Exception {
    boolean modulePath = Consumer.class.getModule().isNamed();
    String mode = modulePath ? "module path" : "class path";
    System.out.println("panops-crypto consumer on the " + mode + ", Java " + Runtime.version());
    try {
      readmeSnippetsAreThisCode(Path.of(args[0]), Path.of(args[1]));
      readmePomSnippetsAreThisPom(Path.of(args[0]), Path.of(args[2]));
      if (modulePath) {
        onlyThePublicApiIsExported();
      } else {
        check(
            !PanopsCrypto.class.getModule().isNamed(),
            "class path: panops-crypto is in the unnamed module");
      }
      runTheExamples();
    } catch (Throwable t) {
      t.printStackTrace();
      System.out.println("consumer on the " + mode + " FAILED after " + Check.passed + " checks");
      System.exit(1);
    }
    System.out.println("consumer on the " + mode + ": all " + Check.passed + " checks hold");
    System.exit(0);
  }

  static void runTheExamples() throws Exception {
    try (LocalKms localKms = LocalKms.start()) {
      String acmeCmkArn = localKms.createKey("acme");
      try (KmsClient kms =
              KmsClient.builder()
                  .endpointOverride(localKms.endpoint())
                  .region(Region.of(localKms.region()))
                  .credentialsProvider(localKms.vendor().credentialsProvider())
                  .build();
          S3MockServer s3mock =
              S3MockServer.builder(S3MockServer.locateJar()).initialBuckets(List.of("mail")).start();
          S3Client plainS3 =
              S3Client.builder()
                  .endpointOverride(s3mock.endpoint())
                  .forcePathStyle(true)
                  .region(Region.of(s3mock.region()))
                  .credentialsProvider(
                      StaticCredentialsProvider.create(AwsBasicCredentials.create("test", "test")))
                  .build();
          TlsPostgres postgres = TlsPostgres.start()) {
        String jdbcUrl = postgres.jdbcUrl("postgres") + "&user=" + postgres.user();
        ReadmeExamples examples = new ReadmeExamples(kms, acmeCmkArn, plainS3, jdbcUrl);
        examples.coreSetup();
        try (PanopsCrypto crypto = examples.crypto) {
          examples.coreBytes();
          Path dir = Files.createTempDirectory("consumer");
          try {
            examples.coreStreams(dir);
          } finally {
            try (var files = Files.list(dir)) {
              for (Path f : (Iterable<Path>) files::iterator) {
                Files.delete(f);
              }
            }
            Files.delete(dir);
          }
          examples.s3();
          examples.jdbc();
        }
      }
    }
  }

  /**
   * On the module path: each panops-crypto module is a named, explicit module (not an automatic
   * module from a file name), exports its public API packages to everyone, and nothing else to
   * this module, neither exported nor open; a public method of an internal class is refused.
   */
  static void onlyThePublicApiIsExported() throws Exception {
    Module me = Consumer.class.getModule();
    List<Class<?>> anchors =
        List.of(
            PanopsCrypto.class,
            EncryptingS3Client.class,
            TlsEnforcingDataSource.class,
            PostgresProbeCoordinator.class);
    for (Class<?> anchor : anchors) {
      Module m = anchor.getModule();
      check(
          m.isNamed() && !m.getDescriptor().isAutomatic(),
          anchor.getSimpleName() + " is in an explicit module (" + m.getName() + ")");
      Set<String> allowed = PUBLIC_API.get(m.getName());
      check(allowed != null, m.getName() + " is a known panops-crypto module");
      Set<String> reachable = new TreeSet<>();
      for (String p : m.getPackages()) {
        if (m.isExported(p, me) || m.isOpen(p, me)) {
          reachable.add(p);
        }
      }
      check(
          reachable.equals(new TreeSet<>(allowed)),
          m.getName()
              + " exports to this module exactly "
              + allowed
              + " (reachable: "
              + reachable
              + ")");
      for (String p : allowed) {
        check(m.isExported(p), m.getName() + " exports " + p + " to everyone");
      }
    }
    check(
        "com.panops.crypto.testkit".equals(LocalKms.class.getModule().getName()),
        "testkit has the stable module name com.panops.crypto.testkit");
    // an internal class's public method, reached by reflection as a user might try
    Class<?> header = Class.forName("com.panops.crypto.format.MessageHeader");
    Method parse = header.getMethod("parse", byte[].class, int.class, int.class);
    boolean refused = false;
    try {
      parse.invoke(null, new byte[0], 0, 0);
    } catch (IllegalAccessException expected) {
      refused = true;
    } catch (ReflectiveOperationException | RuntimeException other) {
      refused = false;
    }
    check(refused, "an internal class (format.MessageHeader) is refused to this module");
  }

  /** Every {@code <!-- snippet: NAME -->} block of the README is the same region of this code. */
  static void readmeSnippetsAreThisCode(Path readme, Path source) throws IOException {
    Map<String, List<String>> inReadme = new LinkedHashMap<>();
    List<String> lines = Files.readAllLines(readme, StandardCharsets.UTF_8);
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i).trim();
      if (l.startsWith("<!-- snippet: ") && l.endsWith("-->")) {
        String name = l.substring("<!-- snippet: ".length(), l.length() - 3).trim();
        List<String> body = new ArrayList<>();
        for (int j = i + 2; !lines.get(j).trim().equals("```"); j++) {
          body.add(lines.get(j));
        }
        inReadme.put(name, body);
      }
    }
    Map<String, List<String>> inCode = new LinkedHashMap<>();
    lines = Files.readAllLines(source, StandardCharsets.UTF_8);
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i).trim();
      if (l.startsWith("// snippet: ")) {
        String name = l.substring("// snippet: ".length()).trim();
        List<String> body = new ArrayList<>();
        for (int j = i + 1; !lines.get(j).trim().equals("// end snippet"); j++) {
          body.add(lines.get(j));
        }
        inCode.put(name, dedent(body));
      }
    }
    check(
        !inCode.isEmpty() && inCode.keySet().equals(inReadme.keySet()),
        "the README's snippets " + inReadme.keySet() + " are the ones this code runs");
    for (String name : inCode.keySet()) {
      check(
          String.join("\n", inCode.get(name)).equals(String.join("\n", inReadme.get(name))),
          "README snippet '" + name + "' is, line for line, the code run here");
    }
  }

  /**
   * Every {@code <!-- pom: NAME -->} block of the README (what a user's pom needs) is, line for
   * line, the region of this project's pom between {@code <!-- README.md: NAME} and {@code <!-- end
   * README.md -->}: this project is built from exactly what the README tells a user to write.
   */
  static void readmePomSnippetsAreThisPom(Path readme, Path pom) throws IOException {
    Map<String, List<String>> inReadme = new LinkedHashMap<>();
    List<String> lines = Files.readAllLines(readme, StandardCharsets.UTF_8);
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i).trim();
      if (l.startsWith("<!-- pom: ") && l.endsWith("-->")) {
        String name = l.substring("<!-- pom: ".length(), l.length() - 3).trim();
        List<String> body = new ArrayList<>();
        for (int j = i + 2; !lines.get(j).trim().equals("```"); j++) {
          body.add(lines.get(j));
        }
        inReadme.put(name, body);
      }
    }
    Map<String, List<String>> inPom = new LinkedHashMap<>();
    lines = Files.readAllLines(pom, StandardCharsets.UTF_8);
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i).trim();
      if (l.startsWith("<!-- README.md: ")) {
        String name = l.substring("<!-- README.md: ".length()).split("[ (]", 2)[0].trim();
        int j = i;
        while (!lines.get(j).trim().endsWith("-->")) {
          j++; // the marker comment may go on over several lines
        }
        List<String> body = new ArrayList<>();
        for (j = j + 1; !lines.get(j).trim().equals("<!-- end README.md -->"); j++) {
          body.add(lines.get(j));
        }
        inPom.put(name, dedent(body));
      }
    }
    check(
        !inPom.isEmpty() && inPom.keySet().equals(inReadme.keySet()),
        "the README's pom snippets " + inReadme.keySet() + " are the ones this pom is built from");
    for (String name : inPom.keySet()) {
      check(
          String.join("\n", inPom.get(name)).equals(String.join("\n", inReadme.get(name))),
          "README pom snippet '" + name + "' is, line for line, this project's pom");
    }
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
}
