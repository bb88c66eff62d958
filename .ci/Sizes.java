import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The size rules of the source tree: no production file over 500 lines, no method or constructor
 * over 60 lines (declaration to closing brace). Run as {@code java .ci/Sizes.java [root]}; exits 1
 * and lists every breach. Production files are those under {@code src/main/java}.
 *
 * <p>Methods are found by a small scanner, not a Java parser: comments, strings, text blocks and
 * character literals are blanked, then a block opened right after {@code ) [throws ...]} that is
 * not a control statement is a method body. Lambdas ({@code -> {}}) and initialisers are not
 * methods; their lines count toward the method that holds them.
 */
public final class Sizes {
  static final int MAX_FILE = 500;
  static final int MAX_METHOD = 60;
  static final Pattern SIGNATURE =
      Pattern.compile("\\)\\s*(throws\\s+[\\w.<>,\\s]+)?$");
  static final Pattern RECORD = Pattern.compile("(^|\\s)record\\s+\\w+");
  static final Pattern CONTROL =
      Pattern.compile("(^|[^\\w])(if|for|while|switch|catch|synchronized|try)\\s*\\(");

  public static void main(String[] args) throws IOException {
    Path root = Path.of(args.length > 0 ? args[0] : ".");
    List<String> breaches = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path f : (Iterable<Path>) files.filter(Sizes::isProduction).sorted()::iterator) {
        check(root.relativize(f), Files.readString(f), breaches);
      }
    }
    breaches.forEach(System.out::println);
    if (!breaches.isEmpty()) {
      System.out.println(breaches.size() + " breach(es) of the size rules");
      System.exit(1);
    }
    System.out.println("size rules hold: no production file over " + MAX_FILE
        + " lines, no method over " + MAX_METHOD);
  }

  static boolean isProduction(Path p) {
    String s = p.toString().replace('\\', '/');
    return s.endsWith(".java") && s.contains("/src/main/java/") && !s.contains("/target/");
  }

  static void check(Path file, String text, List<String> breaches) {
    String code = blank(text);
    int lines = (int) text.lines().count();
    if (lines > MAX_FILE) {
      breaches.add(file + ": " + lines + " lines (max " + MAX_FILE + ")");
    }
    Deque<int[]> open = new ArrayDeque<>(); // {line, isMethod}
    StringBuilder since = new StringBuilder();
    int line = 1;
    for (int i = 0; i < code.length(); i++) {
      char c = code.charAt(i);
      if (c == '\n') {
        line++;
      }
      if (c == '{') {
        String head = since.toString().strip();
        boolean method = SIGNATURE.matcher(head).find() && !CONTROL.matcher(head).find()
            && !head.endsWith("->") && !head.contains(" new ") && !head.startsWith("new ")
            && !RECORD.matcher(head).find();
        open.push(new int[] {line - (int) head.chars().filter(ch -> ch == '\n').count(),
            method ? 1 : 0});
        since.setLength(0);
      } else if (c == '}') {
        int[] o = open.isEmpty() ? new int[] {line, 0} : open.pop();
        if (o[1] == 1 && line - o[0] + 1 > MAX_METHOD) {
          breaches.add(file + ":" + o[0] + ": method of " + (line - o[0] + 1) + " lines (max "
              + MAX_METHOD + ")");
        }
        since.setLength(0);
      } else if (c == ';') {
        since.setLength(0);
      } else {
        since.append(c);
      }
    }
  }

  /** Replaces comments and literals by spaces, keeping line breaks. */
  static String blank(String s) {
    StringBuilder out = new StringBuilder(s.length());
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (s.startsWith("//", i)) {
        while (i < s.length() && s.charAt(i) != '\n') {
          out.append(' ');
          i++;
        }
      } else if (s.startsWith("/*", i)) {
        int end = s.indexOf("*/", i + 2);
        end = end < 0 ? s.length() : end + 2;
        keepBreaks(s, i, end, out);
        i = end;
      } else if (s.startsWith("\"\"\"", i)) {
        int end = s.indexOf("\"\"\"", i + 3);
        end = end < 0 ? s.length() : end + 3;
        keepBreaks(s, i, end, out);
        i = end;
      } else if (c == '"' || c == '\'') {
        int j = i + 1;
        while (j < s.length() && s.charAt(j) != c && s.charAt(j) != '\n') {
          j += s.charAt(j) == '\\' ? 2 : 1;
        }
        j = Math.min(j + 1, s.length());
        keepBreaks(s, i, j, out);
        i = j;
      } else {
        out.append(c);
        i++;
      }
    }
    return out.toString();
  }

  static void keepBreaks(String s, int from, int to, StringBuilder out) {
    for (int k = from; k < to; k++) {
      out.append(s.charAt(k) == '\n' ? '\n' : ' ');
    }
  }
}
