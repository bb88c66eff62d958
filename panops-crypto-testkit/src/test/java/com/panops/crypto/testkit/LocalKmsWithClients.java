package com.panops.crypto.testkit;

import static com.panops.crypto.testkit.KmsTestSupport.client;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import software.amazon.awssdk.services.kms.KmsClient;

/** A LocalKms with a real SDK client for the vendor and one for the customer's key admin. */
abstract class LocalKmsWithClients {

  LocalKms kms;
  KmsClient vendor;
  KmsClient admin;

  /** Takes the started LocalKms and opens the two clients on it. */
  final void open(LocalKms started) {
    kms = started;
    vendor = client(kms, kms.vendor());
    admin = client(kms, kms.admin());
  }

  /** Closes the two clients, then the LocalKms. */
  final void closeAll() {
    vendor.close();
    admin.close();
    kms.close();
  }

  /** One default LocalKms shared by every test of the class. */
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  abstract static class PerClass extends LocalKmsWithClients {

    @BeforeAll
    void startLocalKms() {
      open(LocalKms.start());
    }

    @AfterAll
    void stopLocalKms() {
      closeAll();
    }
  }
}
