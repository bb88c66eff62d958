package com.panops.crypto.jdbc;

import com.panops.crypto.IntegrityException;
import com.panops.crypto.KeyContext;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.PanopsCryptoException;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.adapter.AdapterAccess;
import com.panops.crypto.format.CompactFormat;
import com.panops.crypto.format.MessageHeader;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.sql.SQLNonTransientException;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The re-wrap step of a {@link ColumnRotation}: a stored value's header to its re-wrapped header
 * under the current CMK, with one {@code ReEncrypt} per distinct encrypted data key (the answers
 * remembered, at most {@value ColumnRotation#REWRAP_MEMO}). A remembered answer gets the checks
 * {@code ReEncrypt} would have made. Not thread-safe.
 */
final class HeaderRewrap {
  private final TenantRef tenant;
  private final String table;
  private final List<String> columns;
  private final List<KeyContext> keyContexts;
  private final Map<String, byte[]> memo =
      new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, byte[]> e) {
          return size() > ColumnRotation.REWRAP_MEMO;
        }
      };

  HeaderRewrap(TenantRef tenant, String table, List<String> columns, List<KeyContext> keyContexts) {
    this.tenant = tenant;
    this.table = table;
    this.columns = columns;
    this.keyContexts = keyContexts;
  }

  /** Called before each batch: pinned, there is no latch to read, so every batch asks KMS again. */
  void startBatch() {
    if (tenant.crypto() == null) {
      memo.clear();
    }
  }

  /**
   * {@code {oldHeader, newHeader}} for a stored value's prefix, or null if it is already under the
   * current CMK.
   */
  byte[][] rewrap(TenantCrypto t, byte[] currentArn, byte[] prefix, int columnIndex)
      throws SQLException {
    String where = "column " + table + "." + columns.get(columnIndex);
    if (prefix.length > 0 && (prefix[0] & 0xFF) == CompactFormat.VERSION) {
      return null; // a compact value: its data key moves with the registry (no row is touched)
    }
    try {
      MessageHeader h = MessageHeader.parse(prefix, 0, prefix.length);
      if (h.keyArnEquals(currentArn)) {
        return null;
      }
      byte[] old = Arrays.copyOf(prefix, h.length());
      KeyContext kc = keyContexts.get(columnIndex);
      String target = new String(currentArn, StandardCharsets.UTF_8);
      String memoKey = memoKey(target, h);
      byte[] newEdk = memo.get(memoKey);
      if (newEdk != null) {
        checkAsReEncryptWould(t, h, kc, target, where);
        return new byte[][] {old, h.withKeyReference(currentArn, newEdk)};
      }
      byte[] fresh = AdapterAccess.rewrapHeader(t, h, kc);
      MessageHeader nh = MessageHeader.parse(fresh, 0, fresh.length);
      memo.put(memoKey, nh.encryptedDataKey());
      return new byte[][] {old, fresh};
    } catch (PanopsCryptoException e) {
      throw SqlErrors.of(e, where);
    }
  }

  private static String memoKey(String target, MessageHeader h) {
    return target
        + '\n'
        + h.keyArn()
        + '\n'
        + h.keyContext()
        + '\n'
        + Base64.getEncoder().encodeToString(h.encryptedDataKey());
  }

  /**
   * The checks rewrapHeader makes, without its KMS call: the value's key context is the column's,
   * its CMK is one of the tenant's, and neither CMK is latched as revoked.
   */
  private void checkAsReEncryptWould(
      TenantCrypto t, MessageHeader h, KeyContext kc, String target, String where)
      throws SQLException {
    if (!KeyContext.from(h.keyContext()).equals(kc)
        || !t.keys().allKeyArns().contains(h.keyArn())) {
      throw new IntegrityException();
    }
    PanopsCrypto crypto = tenant.crypto();
    for (String arn : new String[] {h.keyArn(), target}) {
      if (crypto != null && crypto.isRevoked(arn)) {
        throw new SQLNonTransientException(
            where + ": CMK " + arn + " is latched as revoked; rotation stopped",
            SqlStates.KEY_REVOKED);
      }
    }
  }
}
