package com.panops.crypto.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.GrantOperation;

/**
 * Step 1: the customer creates its KMS key with the seed's key policy. The demo reads the policy
 * back (GetKeyPolicy) and checks that the vendor's role gets the five cryptographic operations
 * only, then has the vendor try the customer's key actions, each of which KMS must refuse. Then the
 * customer creates its second key (EU mailboxes).
 */
final class CustomerKey {
  private final DemoRun run;

  private CustomerKey(DemoRun run) {
    this.run = run;
  }

  /** Creates both keys and sets them on {@code run}. */
  static void create(DemoRun run) throws Exception {
    new CustomerKey(run).create();
  }

  private void create() throws Exception {
    Console con = run.con;
    con.step(1, "The customer creates its KMS key, with the vendor's narrow key policy");
    long t = System.nanoTime();
    run.keyArn = run.kms.createKey("acme-corp: PanOps mail archive");
    con.kv("customer account", run.kms.accountId() + " (region " + run.kms.region() + ")");
    con.kv("key (customer-managed, symmetric)", run.keyArn);
    con.kv("created by", run.kms.admin().arn() + "  " + Console.since(t));
    // the policy as KMS holds it for this key (GetKeyPolicy as the customer's admin)
    String policyText;
    try (KmsClient admin = run.kmsClientFor(run.kms.admin())) {
      policyText = admin.getKeyPolicy(r -> r.keyId(run.keyArn).policyName("default")).policy();
    }
    printVendorStatement(policyText);
    run.checks.expect(
        "the key's policy (GetKeyPolicy) gives the vendor role the five cryptographic operations"
            + " only",
        Checks.vendorPolicyFiveOnly(policyText, run.kms.vendor().roleArn()));
    vendorTriesKeyActions(policyText);
    run.secondKeyArn =
        run.kms.createKey(Walkthrough.SECOND_TENANT + ": PanOps mail archive (EU mailboxes)");
    con.kv("the customer's second key (EU mailboxes)", run.secondKeyArn);
    run.expectedWindows.put(run.keyArn, 2);
  }

  private void printVendorStatement(String policyText) throws Exception {
    for (JsonNode st : new ObjectMapper().readTree(policyText).get("Statement")) {
      if (run.kms.vendor().roleArn().equals(Checks.principalOf(st))) {
        run.con.line(
            "Key policy statement \""
                + st.path("Sid").asText()
                + "\" (read back with GetKeyPolicy):");
        run.con.kv(
            "  Effect / Principal", st.get("Effect").asText() + " / " + Checks.principalOf(st));
        run.con.kv("  Action", st.get("Action").toString());
      }
    }
  }

  /** KMS enforces the policy: the vendor tries the customer's key actions, each is refused. */
  private void vendorTriesKeyActions(String policyText) {
    String keyArn = run.keyArn;
    Map<String, String> tried = new LinkedHashMap<>();
    try (KmsClient vendor = run.vendorKmsClient()) {
      tried.put("DisableKey", run.refusal(() -> vendor.disableKey(r -> r.keyId(keyArn))));
      tried.put(
          "ScheduleKeyDeletion",
          run.refusal(
              () -> vendor.scheduleKeyDeletion(r -> r.keyId(keyArn).pendingWindowInDays(7))));
      tried.put(
          "PutKeyPolicy",
          run.refusal(
              () ->
                  vendor.putKeyPolicy(
                      r -> r.keyId(keyArn).policyName("default").policy(policyText))));
      tried.put(
          "CreateGrant",
          run.refusal(
              () ->
                  vendor.createGrant(
                      r ->
                          r.keyId(keyArn)
                              .granteePrincipal(run.kms.vendor().roleArn())
                              .operations(GrantOperation.DECRYPT))));
    }
    run.con.kv("  the vendor tries", tried.toString());
    run.checks.expect(
        "the vendor's DisableKey, ScheduleKeyDeletion, PutKeyPolicy and CreateGrant are each refused",
        Checks.allRefused(
            tried, List.of("DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "CreateGrant")));
  }
}
