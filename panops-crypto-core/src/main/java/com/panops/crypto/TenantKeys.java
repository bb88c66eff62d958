package com.panops.crypto;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A tenant's customer master keys: the current one, used to encrypt, and older ones still allowed
 * for decryption after a migration. Every key is a full KMS key ARN ({@code
 * arn:aws:kms:REGION:ACCOUNT:key/ID}); aliases are refused, since a customer could repoint an
 * alias. Immutable.
 */
public final class TenantKeys {
  private static final Pattern KEY_ARN =
      Pattern.compile("arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]{1,128}");

  private final String current;
  private final List<String> decryptOnly;
  private final List<String> all;
  final byte[][] allUtf8;

  private TenantKeys(String current, List<String> decryptOnly) {
    this.current = checkArn(current);
    List<String> old = new ArrayList<>();
    for (String a : decryptOnly) {
      checkArn(a);
      if (!a.equals(current) && !old.contains(a)) {
        old.add(a);
      }
    }
    this.decryptOnly = List.copyOf(old);
    List<String> everything = new ArrayList<>();
    everything.add(current);
    everything.addAll(old);
    this.all = List.copyOf(everything);
    this.allUtf8 = new byte[all.size()][];
    for (int i = 0; i < all.size(); i++) {
      allUtf8[i] = all.get(i).getBytes(StandardCharsets.UTF_8);
    }
  }

  /** Keys with only a current CMK. */
  public static TenantKeys of(String currentKeyArn) {
    return new TenantKeys(currentKeyArn, List.of());
  }

  /** Keys with a current CMK and older CMKs allowed for decryption only. */
  public static TenantKeys of(String currentKeyArn, List<String> decryptOnlyKeyArns) {
    Objects.requireNonNull(decryptOnlyKeyArns, "decryptOnlyKeyArns");
    return new TenantKeys(currentKeyArn, decryptOnlyKeyArns);
  }

  private static String checkArn(String arn) {
    if (arn == null || !KEY_ARN.matcher(arn).matches()) {
      throw new IllegalArgumentException("not a KMS key ARN: " + arn);
    }
    return arn;
  }

  /** The CMK new messages are encrypted under. */
  public String currentKeyArn() {
    return current;
  }

  /** Older CMKs, allowed for decryption only. */
  public List<String> decryptOnlyKeyArns() {
    return decryptOnly;
  }

  /** Every CMK allowed for decryption, current first. */
  public List<String> allKeyArns() {
    return all;
  }

  boolean equalsKeys(TenantKeys o) {
    return o == this || (current.equals(o.current) && decryptOnly.equals(o.decryptOnly));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TenantKeys && equalsKeys((TenantKeys) o);
  }

  @Override
  public int hashCode() {
    return current.hashCode() * 31 + decryptOnly.hashCode();
  }

  @Override
  public String toString() {
    return "TenantKeys[current=" + current + ", decryptOnly=" + decryptOnly + "]";
  }
}
