package com.panops.crypto.revocation;

import static org.junit.jupiter.api.Assertions.*;

import com.panops.crypto.KeyContext;
import com.panops.crypto.KeyRevokedException;
import com.panops.crypto.LocalKmsSupport;
import com.panops.crypto.MessageAad;
import com.panops.crypto.PanopsCrypto;
import com.panops.crypto.ProbeSettings;
import com.panops.crypto.RevocationEvent;
import com.panops.crypto.RevocationReason;
import com.panops.crypto.TenantCrypto;
import com.panops.crypto.TenantDirectory;
import com.panops.crypto.TenantKeys;
import com.panops.crypto.TestCrypto;
import com.panops.crypto.adapter.AdapterAccess;
import com.panops.crypto.format.MessageHeader;
import com.panops.crypto.testkit.LocalKms;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * A re-wrap that KMS refuses for a customer action latches, even when both keys answer the probes
 * that follow (the key policy grants Decrypt and Encrypt but not ReEncrypt*): a {@code
 * KeyRevokedException} always means a latched key, with its REVOKED event, never an exception that
 * the key's state contradicts. The key that KMS's message names is latched; the other is not.
 */
class RewrapRefusalIT {
  static final KeyContext KC = KeyContext.of("class", "mail");
  static final MessageAad AAD = MessageAad.of("row", "1");

  LocalKms kms;
  KmsClient client;
  String oldKey;
  String newKey;
  byte[] ct;
  PanopsCrypto rotated;
  final List<RevocationEvent> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() {
    kms = LocalKms.start();
    client = LocalKmsSupport.client(kms, kms.vendor());
    oldKey = kms.createKey("acme old");
    newKey = kms.createKey("acme new");
    try (PanopsCrypto before = build(TenantKeys.of(oldKey))) {
      ct = before.tenant("acme").encrypt("mail".getBytes(), KC, AAD);
    }
    rotated = build(TenantKeys.of(newKey, List.of(oldKey)));
  }

  PanopsCrypto build(TenantKeys keys) {
    return TestCrypto.builder(client, TenantDirectory.of(Map.of("acme", keys)))
        .probeSettings(ProbeSettings.every(Duration.ofMinutes(5)))
        .addRevocationListener(events::add)
        .build();
  }

  @AfterEach
  void tearDown() {
    rotated.close();
    client.close();
    kms.close();
  }

  /** The seed policy without {@code kms:ReEncrypt*} for the vendor. */
  String policyWithoutReEncrypt() {
    String p = kms.seedKeyPolicy();
    String without = p.replaceAll("\"kms:ReEncrypt\\*\"\\s*,", "");
    assertNotEquals(p, without, "the seed policy grants ReEncrypt*");
    return without;
  }

  @Test
  void aReEncryptRefusedByTheSourceKeysPolicy_latchesTheSourceKey_thoughItsProbesSucceed() {
    TenantCrypto acme = rotated.tenant("acme");
    assertArrayEquals("mail".getBytes(), acme.decrypt(ct, KC, AAD), "Decrypt is still granted");
    kms.putKeyPolicy(oldKey, policyWithoutReEncrypt());
    var h = MessageHeader.parse(ct, 0, ct.length);
    KeyRevokedException e =
        assertThrows(KeyRevokedException.class, () -> AdapterAccess.rewrapHeader(acme, h, KC));
    assertEquals(RevocationReason.ACCESS_DENIED, e.reason());
    assertTrue(rotated.isRevoked(oldKey), "the exception's latch is set");
    assertFalse(rotated.isRevoked(newKey), "the key KMS did not name is not latched");
    assertEquals(1, events.size(), events.toString());
    assertEquals(RevocationEvent.Kind.REVOKED, events.get(0).kind());
    assertEquals(oldKey, events.get(0).keyArn());
    assertThrows(
        KeyRevokedException.class,
        () -> acme.decrypt(ct, KC, AAD),
        "latched: the warm cache is not served until the key has settled");
  }

  @Test
  void aReEncryptRefusedByTheDestinationKeysPolicy_latchesTheDestinationKey() {
    TenantCrypto acme = rotated.tenant("acme");
    kms.putKeyPolicy(newKey, policyWithoutReEncrypt());
    var h = MessageHeader.parse(ct, 0, ct.length);
    KeyRevokedException e =
        assertThrows(KeyRevokedException.class, () -> AdapterAccess.rewrapHeader(acme, h, KC));
    assertEquals(RevocationReason.ACCESS_DENIED, e.reason());
    assertEquals(newKey, e.keyArn());
    assertTrue(rotated.isRevoked(newKey));
    assertFalse(rotated.isRevoked(oldKey));
  }
}
