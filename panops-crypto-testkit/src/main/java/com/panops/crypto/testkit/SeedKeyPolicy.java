package com.panops.crypto.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/** The seed's key policy (see {@link LocalKms#seedKeyPolicy()}). */
final class SeedKeyPolicy {

  private static final ObjectMapper MAPPER = new ObjectMapper();

  private SeedKeyPolicy() {}

  /** The policy as pretty-printed JSON, for the admin's and the vendor's role. */
  static String json(String adminRoleArn, String vendorRoleArn) {
    ObjectNode p = MAPPER.createObjectNode();
    p.put("Version", "2012-10-17");
    p.put("Id", "panops-customer-key-policy");
    ArrayNode statements = p.putArray("Statement");
    ObjectNode adminSt = statements.addObject();
    adminSt.put("Sid", "CustomerKeyAdministration");
    adminSt.put("Effect", "Allow");
    adminSt.putObject("Principal").put("AWS", adminRoleArn);
    adminSt.put("Action", "kms:*");
    adminSt.put("Resource", "*");
    ObjectNode vendorSt = statements.addObject();
    vendorSt.put("Sid", "PanOpsServiceAccess");
    vendorSt.put("Effect", "Allow");
    vendorSt.putObject("Principal").put("AWS", vendorRoleArn);
    ArrayNode actions = vendorSt.putArray("Action");
    for (String a :
        List.of(
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey",
            "kms:DescribeKey")) {
      actions.add(a);
    }
    vendorSt.put("Resource", "*");
    return p.toPrettyString();
  }
}
