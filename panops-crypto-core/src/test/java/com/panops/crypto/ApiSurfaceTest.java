package com.panops.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The public API as the module declares it: the exported packages hold exactly the types listed
 * here, and no public or protected signature of theirs names a type of an unexported package (a
 * user could not reach it). A new public type, or a signature naming an internal type, fails here
 * until it is meant.
 */
class ApiSurfaceTest {
  static final Path CLASSES = Path.of("target", "classes");

  /** The exported packages, read from the compiled module descriptor. */
  static Set<String> exported() throws IOException {
    try (InputStream in = Files.newInputStream(CLASSES.resolve("module-info.class"))) {
      return ModuleDescriptor.read(in).exports().stream()
          .filter(e -> !e.isQualified())
          .map(ModuleDescriptor.Exports::source)
          .collect(Collectors.toCollection(TreeSet::new));
    }
  }

  static List<Class<?>> publicTypes(Set<String> packages) throws Exception {
    List<Class<?>> out = new ArrayList<>();
    for (String p : packages) {
      Path dir = CLASSES.resolve(p.replace('.', '/'));
      try (Stream<Path> files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          String n = f.getFileName().toString();
          if (!n.endsWith(".class") || n.equals("package-info.class")) {
            continue;
          }
          Class<?> c = Class.forName(p + "." + n.substring(0, n.length() - 6).replace('/', '.'));
          if (isApi(c)) {
            out.add(c);
          }
        }
      }
    }
    return out;
  }

  /** Public, and (if nested) in public enclosing types all the way out. */
  static boolean isApi(Class<?> c) {
    for (Class<?> k = c; k != null; k = k.getEnclosingClass()) {
      if (!Modifier.isPublic(k.getModifiers())) {
        return false;
      }
    }
    return true;
  }

  @Test
  void theExportedPackagesAreTheApiAndTheMetricsOnly() throws IOException {
    assertEquals(Set.of("com.panops.crypto", "com.panops.crypto.metrics"), exported());
  }

  @Test
  void theExportedPackagesHoldExactlyTheListedTopLevelTypes() throws Exception {
    Set<String> top =
        publicTypes(exported()).stream()
            .filter(c -> c.getEnclosingClass() == null)
            .map(Class::getSimpleName)
            .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(
        new TreeSet<>(
            List.of(
                "AuditEvent",
                "AuditSink",
                "CacheSettings",
                "CryptoMetrics",
                "DataKeyRegistry",
                "DataKeyRegistryException",
                "IntegrityException",
                "KeyContext",
                "KeyRevokedException",
                "KmsClientFactory",
                "KmsUnavailableException",
                "MessageAad",
                "MicrometerMetrics",
                "PanopsCrypto",
                "PanopsCryptoException",
                "ProbeCoordinator",
                "ProbeSettings",
                "RegisteredDataKey",
                "RegisteredKeyException",
                "RevocationEvent",
                "RevocationListener",
                "RevocationReason",
                "TenantCrypto",
                "TenantDirectory",
                "TenantKeys")),
        top);
  }

  @Test
  void noPublicSignatureNamesAnUnexportedType() throws Exception {
    Set<String> exported = exported();
    List<String> leaks = new ArrayList<>();
    for (Class<?> c : publicTypes(exported)) {
      check(c.getGenericSuperclass(), c + " extends", exported, leaks);
      for (Type t : c.getGenericInterfaces()) {
        check(t, c + " implements", exported, leaks);
      }
      for (Method m : c.getDeclaredMethods()) {
        if (visible(m.getModifiers()) && !m.isSynthetic() && !m.isBridge()) {
          check(m.getGenericReturnType(), m.toString(), exported, leaks);
          checkExecutable(m, exported, leaks);
        }
      }
      for (Constructor<?> k : c.getDeclaredConstructors()) {
        if (visible(k.getModifiers()) && !k.isSynthetic()) {
          checkExecutable(k, exported, leaks);
        }
      }
      for (Field f : c.getDeclaredFields()) {
        if (visible(f.getModifiers()) && !f.isSynthetic()) {
          check(f.getGenericType(), f.toString(), exported, leaks);
        }
      }
    }
    assertTrue(leaks.isEmpty(), "public signatures naming unexported types:\n" + leaks);
  }

  static boolean visible(int modifiers) {
    return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
  }

  static void checkExecutable(Executable e, Set<String> exported, List<String> leaks) {
    for (Type t : e.getGenericParameterTypes()) {
      check(t, e.toString(), exported, leaks);
    }
    for (Type t : e.getGenericExceptionTypes()) {
      check(t, e.toString(), exported, leaks);
    }
  }

  static void check(Type t, String where, Set<String> exported, List<String> leaks) {
    if (t == null) {
      return;
    }
    if (t instanceof Class<?> c) {
      while (c.isArray()) {
        c = c.getComponentType();
      }
      String p = c.getPackageName();
      if (p.startsWith("com.panops.crypto") && !exported.contains(p)) {
        leaks.add(where + " names " + c.getName());
      }
    } else if (t instanceof ParameterizedType pt) {
      check(pt.getRawType(), where, exported, leaks);
      for (Type a : pt.getActualTypeArguments()) {
        check(a, where, exported, leaks);
      }
    } else if (t instanceof GenericArrayType g) {
      check(g.getGenericComponentType(), where, exported, leaks);
    } else if (t instanceof WildcardType w) {
      for (Type b : w.getUpperBounds()) {
        check(b, where, exported, leaks);
      }
      for (Type b : w.getLowerBounds()) {
        check(b, where, exported, leaks);
      }
    } else if (t instanceof TypeVariable<?> v) {
      for (Type b : v.getBounds()) {
        if (b != Object.class) {
          check(b, where, exported, leaks);
        }
      }
    }
  }
}
