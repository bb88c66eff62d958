package com.panops.crypto.benchmarks.report;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** How the tables name the implementations and write a value in a cell. */
final class Cells {
  private Cells() {}

  static final String[] OPS = {"Encrypt", "Decrypt"};
  static final int[] SIZES = {64, 1024, 65536, 1048576};

  /** The S3 benchmarks' object sizes and operations. */
  static final String[] S3_SIZES = {"1048576", "67108864"};

  static final String[] S3_OPS = {"Put", "Get"};

  /** The implementations of the envelope benchmarks, in table order, by method prefix. */
  static final String[] IMPLS = {
    "ours",
    "oursStream",
    "rawGcm",
    "oursAccp",
    "rawGcmAccp",
    "esdkCaching",
    "esdkCaching64k",
    "esdkStream",
    "esdkKeyring",
    "tink"
  };

  static final Map<String, String> IMPL_NAMES = new LinkedHashMap<>();

  static {
    IMPL_NAMES.put("ours", "panops-crypto `byte[]`");
    IMPL_NAMES.put("oursStream", "panops-crypto streams");
    IMPL_NAMES.put("rawGcm", "raw JDK AES-GCM (ceiling)");
    IMPL_NAMES.put("oursAccp", "panops-crypto `byte[]` on ACCP");
    IMPL_NAMES.put("rawGcmAccp", "raw ACCP AES-GCM (ceiling on ACCP)");
    IMPL_NAMES.put("esdkCaching", "AWS ESDK 3.x caching CMM (4 KiB frames, its default)");
    IMPL_NAMES.put("esdkCaching64k", "AWS ESDK 3.x caching CMM, 64 KiB frames");
    IMPL_NAMES.put("esdkStream", "AWS ESDK 3.x streaming API, caching CMM, 64 KiB frames");
    IMPL_NAMES.put("esdkKeyring", "AWS ESDK 3.x KMS keyring");
    IMPL_NAMES.put("tink", "Tink KmsEnvelopeAead");
  }

  /** The cells of an implementation's name and an operation, e.g. {@code Tink … | encrypt}. */
  static String implAndOp(String impl, String op) {
    return IMPL_NAMES.get(impl) + " | " + lc(op);
  }

  /** {@code num ÷ den} with its 95% interval. */
  static String ci(Row num, Row den) {
    return Row.ratioOf(num, den).format();
  }

  static String noise(Row r) {
    return noise(r, 1);
  }

  /** The relative error, and the min–max of the iterations multiplied by {@code scale}. */
  static String noise(Row r, double scale) {
    String e =
        Double.isNaN(r.relError())
            ? "±?"
            : String.format(Locale.ROOT, "±%.1f%%", r.relError() * 100);
    return e + " (" + fmt(r.min() * scale) + "–" + fmt(r.max() * scale) + ")";
  }

  /** The allocation per operation, or a dash without {@code -prof gc}. */
  static String alloc(Row r) {
    return r.allocPerOp() == null ? "–" : fmt(r.allocPerOp());
  }

  static String kms(Row r) {
    Double k = r.kmsPerOp();
    if (k == null) {
      return "–";
    }
    if (k == 0) {
      return "0";
    }
    if (k >= 0.01) {
      return String.format(Locale.ROOT, "%.2f", k);
    }
    return String.format(Locale.ROOT, "%.1e", k);
  }

  static String fmt(double v) {
    if (Double.isNaN(v)) {
      return "–";
    }
    double a = Math.abs(v);
    if (a >= 100) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.1f", v);
    }
    return String.format(Locale.ROOT, "%.2f", v);
  }

  static String mib(Double bytes) {
    return bytes == null ? "–" : String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
  }

  static String size(int bytes) {
    if (bytes >= 1048576 && bytes % 1048576 == 0) {
      return bytes / 1048576 + " MiB";
    }
    if (bytes >= 1024 && bytes % 1024 == 0) {
      return bytes / 1024 + " KiB";
    }
    return bytes + " B";
  }

  static String lc(String op) {
    return op.toLowerCase(Locale.ROOT);
  }
}
