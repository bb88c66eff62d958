package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.errorCode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.panops.crypto.testkit.KmsTestSupport.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.kms.model.CreateKeyResponse;
import software.amazon.awssdk.services.kms.model.DataKeySpec;
import software.amazon.awssdk.services.kms.model.DisabledException;
import software.amazon.awssdk.services.kms.model.EncryptionAlgorithmSpec;
import software.amazon.awssdk.services.kms.model.GenerateDataKeyResponse;
import software.amazon.awssdk.services.kms.model.KeyManagerType;
import software.amazon.awssdk.services.kms.model.KeyMetadata;
import software.amazon.awssdk.services.kms.model.KeySpec;
import software.amazon.awssdk.services.kms.model.KeyState;
import software.amazon.awssdk.services.kms.model.KeyUsageType;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.KmsInvalidStateException;
import software.amazon.awssdk.services.kms.model.ListKeysResponse;
import software.amazon.awssdk.services.kms.model.NotFoundException;
import software.amazon.awssdk.services.kms.model.OriginType;
import software.amazon.awssdk.services.kms.model.ScheduleKeyDeletionResponse;

class LocalKmsKeyLifecycleIT extends LocalKmsWithClients {

  private static final Instant T0 = Instant.parse("2030-01-01T00:00:00Z");

  private MutableClock clock;

  @BeforeEach
  void start() {
    clock = new MutableClock(T0);
    open(LocalKms.builder().clock(clock).start());
  }

  @AfterEach
  void stop() {
    closeAll();
  }

  @Test
  void describeKeyReturnsTheMetadataOfAnEnabledSymmetricCustomerKey() {
    String key = kms.createKey("tenant 42");
    KeyMetadata m = vendor.describeKey(r -> r.keyId(key)).keyMetadata();
    assertEquals(key, m.arn());
    assertEquals(key.substring(key.indexOf("key/") + 4), m.keyId());
    assertEquals(kms.accountId(), m.awsAccountId());
    assertEquals(KeyState.ENABLED, m.keyState());
    assertTrue(m.enabled());
    assertEquals(KeyUsageType.ENCRYPT_DECRYPT, m.keyUsage());
    assertEquals(KeySpec.SYMMETRIC_DEFAULT, m.keySpec());
    assertEquals(List.of(EncryptionAlgorithmSpec.SYMMETRIC_DEFAULT), m.encryptionAlgorithms());
    assertEquals(T0, m.creationDate());
    assertEquals("tenant 42", m.description());
    assertEquals(KeyManagerType.CUSTOMER, m.keyManager());
    assertEquals(OriginType.AWS_KMS, m.origin());
    assertFalse(m.multiRegion());
    assertNull(m.deletionDate());
    assertTrue(key.startsWith("arn:aws:kms:us-east-1:111122223333:key/"));
  }

  @Test
  void aDisabledKeyRefusesCryptographicCallsWithDisabledExceptionUntilReEnabled() {
    String key = kms.createKey("kill switch");
    GenerateDataKeyResponse gdk =
        vendor.generateDataKey(r -> r.keyId(key).keySpec(DataKeySpec.AES_256));
    kms.disableKey(key);
    assertThrows(
        DisabledException.class,
        () -> vendor.decrypt(r -> r.keyId(key).ciphertextBlob(gdk.ciphertextBlob())));
    assertThrows(
        DisabledException.class,
        () -> vendor.generateDataKey(r -> r.keyId(key).keySpec(DataKeySpec.AES_256)));
    assertEquals(KeyState.DISABLED, vendor.describeKey(r -> r.keyId(key)).keyMetadata().keyState());
    kms.enableKey(key);
    assertArrayEquals(
        gdk.plaintext().asByteArray(),
        vendor
            .decrypt(r -> r.keyId(key).ciphertextBlob(gdk.ciphertextBlob()))
            .plaintext()
            .asByteArray());
  }

  @Test
  void theAdminCanDisableAndEnableOverTheWire() {
    String key = kms.createKey("wire admin");
    admin.disableKey(r -> r.keyId(key));
    assertThrows(
        DisabledException.class, () -> vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(16)));
    admin.enableKey(r -> r.keyId(key));
    assertEquals(
        16,
        vendor
            .generateDataKey(r -> r.keyId(key).numberOfBytes(16))
            .plaintext()
            .asByteArray()
            .length);
  }

  @Test
  void aKeyPendingDeletionRefusesCryptographicCallsWithKmsInvalidStateButStillDescribes() {
    String key = kms.createKey("pending");
    GenerateDataKeyResponse gdk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    ScheduleKeyDeletionResponse s =
        admin.scheduleKeyDeletion(r -> r.keyId(key).pendingWindowInDays(7));
    assertEquals(T0.plus(Duration.ofDays(7)), s.deletionDate());
    assertEquals(KeyState.PENDING_DELETION, s.keyState());
    assertEquals(7, s.pendingWindowInDays());
    assertThrows(
        KmsInvalidStateException.class,
        () -> vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob())));
    assertThrows(
        KmsInvalidStateException.class,
        () -> vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32)));
    KeyMetadata m = vendor.describeKey(r -> r.keyId(key)).keyMetadata();
    assertEquals(KeyState.PENDING_DELETION, m.keyState());
    assertEquals(T0.plus(Duration.ofDays(7)), m.deletionDate());
    LocalKmsException e = assertThrows(LocalKmsException.class, () -> kms.enableKey(key));
    assertEquals("KMSInvalidStateException", e.errorCode());
  }

  @Test
  void theKeyIsReallyDeletedOnceTheClockPassesTheDeletionDate() {
    String key = kms.createKey("deleted");
    GenerateDataKeyResponse gdk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    kms.scheduleKeyDeletion(key, 7);
    clock.advance(Duration.ofDays(7).minusSeconds(1));
    assertThrows(
        KmsInvalidStateException.class,
        () -> vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob())));
    clock.advance(Duration.ofSeconds(1));
    assertThrows(
        NotFoundException.class, () -> vendor.decrypt(r -> r.ciphertextBlob(gdk.ciphertextBlob())));
    assertThrows(NotFoundException.class, () -> vendor.describeKey(r -> r.keyId(key)));
    assertFalse(admin.listKeys().keys().stream().anyMatch(k -> k.keyArn().equals(key)));
    LocalKmsException e = assertThrows(LocalKmsException.class, () -> kms.cancelKeyDeletion(key));
    assertEquals("NotFoundException", e.errorCode());
  }

  @Test
  void cancellingDeletionLeavesTheKeyDisabledAsKmsDoes() {
    String key = kms.createKey("cancel");
    kms.scheduleKeyDeletion(key, 30);
    kms.cancelKeyDeletion(key);
    KeyMetadata m = vendor.describeKey(r -> r.keyId(key)).keyMetadata();
    assertEquals(KeyState.DISABLED, m.keyState());
    assertNull(m.deletionDate());
    assertThrows(
        DisabledException.class, () -> vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32)));
    kms.enableKey(key);
    assertEquals(
        32,
        vendor
            .generateDataKey(r -> r.keyId(key).numberOfBytes(32))
            .plaintext()
            .asByteArray()
            .length);
  }

  @Test
  void scheduleKeyDeletionDefaultsTo30DaysAndRefusesWindowsOutside7To30() {
    String key = kms.createKey("window");
    KmsException tooShort =
        assertThrows(
            KmsException.class,
            () -> admin.scheduleKeyDeletion(r -> r.keyId(key).pendingWindowInDays(6)));
    assertEquals("ValidationException", errorCode(tooShort));
    KmsException tooLong =
        assertThrows(
            KmsException.class,
            () -> admin.scheduleKeyDeletion(r -> r.keyId(key).pendingWindowInDays(31)));
    assertEquals("ValidationException", errorCode(tooLong));
    ScheduleKeyDeletionResponse s = admin.scheduleKeyDeletion(r -> r.keyId(key));
    assertEquals(T0.plus(Duration.ofDays(30)), s.deletionDate());
    assertThrows(
        KmsInvalidStateException.class, () -> admin.scheduleKeyDeletion(r -> r.keyId(key)));
  }

  @Test
  void theAdminCreatesKeysOverTheWireWithTheDefaultPolicyGivingItsAccountFullAccess() {
    CreateKeyResponse created = admin.createKey(r -> r.description("wire key"));
    String key = created.keyMetadata().arn();
    assertEquals(KeyState.ENABLED, created.keyMetadata().keyState());
    assertEquals(
        32,
        admin
            .generateDataKey(r -> r.keyId(key).numberOfBytes(32))
            .plaintext()
            .asByteArray()
            .length);
    String policy = admin.getKeyPolicy(r -> r.keyId(key)).policy();
    assertTrue(policy.contains("arn:aws:iam::111122223333:root"), policy);
    KmsException denied =
        assertThrows(KmsException.class, () -> vendor.describeKey(r -> r.keyId(key)));
    assertEquals("AccessDeniedException", errorCode(denied));
  }

  @Test
  void listKeysPagesThroughEveryKeyOfTheAccount() {
    Set<String> created = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      created.add(kms.createKey("k" + i));
    }
    Set<String> seen = new HashSet<>();
    ListKeysResponse page = admin.listKeys(r -> r.limit(2));
    assertTrue(page.truncated());
    assertEquals(2, page.keys().size());
    page.keys().forEach(k -> seen.add(k.keyArn()));
    while (page.truncated()) {
      String marker = page.nextMarker();
      assertNotNull(marker);
      page = admin.listKeys(r -> r.limit(2).marker(marker));
      page.keys().forEach(k -> seen.add(k.keyArn()));
    }
    assertEquals(created, seen);
    assertEquals(5, admin.listKeysPaginator(r -> r.limit(2)).keys().stream().count());
    KmsException badMarker =
        assertThrows(KmsException.class, () -> admin.listKeys(r -> r.marker("nonsense")));
    assertEquals("InvalidMarkerException", errorCode(badMarker));
  }

  @Test
  void inProcessActionsOnUnknownKeysThrowNotFound() {
    LocalKmsException e =
        assertThrows(
            LocalKmsException.class, () -> kms.disableKey("00000000-0000-0000-0000-000000000000"));
    assertEquals("NotFoundException", e.errorCode());
    assertEquals(400, e.httpStatus());
  }

  @Test
  void pendingImportAndUnavailableKeysRefuseCryptoWithKmsInvalidStateNamingTheState() {
    String key = kms.createKey("imported");
    GenerateDataKeyResponse dk = vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32));
    kms.forceKeyState(key, "PendingImport");
    KmsInvalidStateException e =
        assertThrows(
            KmsInvalidStateException.class,
            () -> vendor.decrypt(r -> r.keyId(key).ciphertextBlob(dk.ciphertextBlob())));
    assertEquals(key + " is pending import.", e.awsErrorDetails().errorMessage());
    assertEquals(
        KeyState.PENDING_IMPORT, vendor.describeKey(r -> r.keyId(key)).keyMetadata().keyState());
    kms.forceKeyState(key, "Unavailable");
    e =
        assertThrows(
            KmsInvalidStateException.class,
            () -> vendor.generateDataKey(r -> r.keyId(key).numberOfBytes(32)));
    assertEquals(key + " is unavailable.", e.awsErrorDetails().errorMessage());
    kms.forceKeyState(key, "Enabled");
    vendor.decrypt(r -> r.keyId(key).ciphertextBlob(dk.ciphertextBlob()));
    assertThrows(IllegalArgumentException.class, () -> kms.forceKeyState(key, "Disabled"));
  }
}
