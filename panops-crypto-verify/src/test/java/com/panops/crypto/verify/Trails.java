package com.panops.crypto.verify;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.zip.GZIPOutputStream;

/**
 * CloudTrail records shaped as AWS's documented KMS examples (developer guide, "Logging AWS KMS API
 * calls with AWS CloudTrail": ct-decrypt, ct-disablekey, ct-enablekey, ct-putkeypolicy,
 * ct-creategrant, ct-revokegrant, ct-schedule-key-deletion, ct-delete-key), for tests of the
 * verifier's own logic; and log files in CloudTrail's layout.
 */
final class Trails {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String CUSTOMER = "111122223333";
  static final String VENDOR_ACCOUNT = "999988887777";
  static final String KEY =
      "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
  static final String KEY_2 =
      "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321";
  static final String VENDOR_ROLE = "arn:aws:iam::999988887777:role/PanOpsServiceRole";
  static final String ADMIN_ROLE = "arn:aws:iam::111122223333:role/Admin";
  static final String PROBE_UA = "aws-sdk-java/2.57.8 ua/2.1 panops-call/abc panops-purpose/probe";
  static final String DATA_UA =
      "aws-sdk-java/2.57.8 ua/2.1 panops-call/def panops-purpose/data-key";
  static final Instant T0 = Instant.parse("2026-11-01T10:00:00Z");

  private Trails() {}

  static Instant at(long seconds) {
    return T0.plusSeconds(seconds);
  }

  /** A vendor session's data call (Decrypt with the probe user agent by default). */
  static ObjectNode vendorCall(String eventName, String key, Instant t, String errorCode) {
    return vendorCall(
        eventName, key, t, errorCode, "Decrypt".equals(eventName) ? PROBE_UA : DATA_UA);
  }

  static ObjectNode vendorCall(
      String eventName, String key, Instant t, String errorCode, String ua) {
    ObjectNode r = base(eventName, t, key);
    ObjectNode who = r.putObject("userIdentity");
    who.put("type", "AssumedRole");
    who.put("principalId", "AROAEXAMPLE:worker-1");
    who.put("arn", "arn:aws:sts::999988887777:assumed-role/PanOpsServiceRole/worker-1");
    who.put("accountId", VENDOR_ACCOUNT);
    who.put("accessKeyId", "ASIAEXAMPLE");
    ObjectNode issuer = who.putObject("sessionContext").putObject("sessionIssuer");
    issuer.put("type", "Role").put("principalId", "AROAEXAMPLE").put("arn", VENDOR_ROLE);
    issuer.put("accountId", VENDOR_ACCOUNT).put("userName", "PanOpsServiceRole");
    r.put("userAgent", ua);
    ObjectNode p = r.putObject("requestParameters");
    p.put("keyId", key);
    p.putObject("encryptionContext").put("tenant", "t-1");
    if (!eventName.startsWith("GenerateDataKey")) {
      p.put("encryptionAlgorithm", "SYMMETRIC_DEFAULT");
    } else {
      p.put("keySpec", "AES_256");
    }
    r.put("readOnly", true);
    return error(r, errorCode);
  }

  /** The customer administrator's key change (DisableKey, EnableKey, ...). */
  static ObjectNode adminChange(String eventName, String key, Instant t) {
    ObjectNode r = base(eventName, t, key);
    ObjectNode who = r.putObject("userIdentity");
    who.put("type", "AssumedRole");
    who.put("arn", "arn:aws:sts::111122223333:assumed-role/Admin/alice");
    who.put("accountId", CUSTOMER);
    who.putObject("sessionContext")
        .putObject("sessionIssuer")
        .put("type", "Role")
        .put("arn", ADMIN_ROLE);
    r.put("userAgent", "aws-cli/2.15.0");
    r.putObject("requestParameters").put("keyId", key);
    r.put("readOnly", false);
    return r;
  }

  static ObjectNode putKeyPolicy(String key, Instant t, String... allowedPrincipals) {
    ObjectNode r = adminChange("PutKeyPolicy", key, t);
    ObjectNode policy = JSON.createObjectNode().put("Version", "2012-10-17");
    ArrayNode st = policy.putArray("Statement");
    st.addObject()
        .put("Sid", "Enable IAM User Permissions")
        .put("Effect", "Allow")
        .put("Action", "kms:*")
        .put("Resource", "*")
        .putObject("Principal")
        .put("AWS", "arn:aws:iam::111122223333:root");
    for (String p : allowedPrincipals) {
      ObjectNode s = st.addObject().put("Effect", "Allow").put("Resource", "*");
      s.putObject("Principal").put("AWS", p);
      s.putArray("Action").add("kms:Decrypt").add("kms:GenerateDataKey");
    }
    ObjectNode params = (ObjectNode) r.get("requestParameters");
    params
        .put("policyName", "default")
        .put("policy", policy.toString())
        .put("bypassPolicyLockoutSafetyCheck", false);
    return r;
  }

  static ObjectNode createGrant(String key, Instant t, String grantee, String grantId) {
    ObjectNode r = adminChange("CreateGrant", key, t);
    ObjectNode params = (ObjectNode) r.get("requestParameters");
    params.put("granteePrincipal", grantee);
    params.putArray("operations").add("Decrypt").add("GenerateDataKey");
    r.putObject("responseElements").put("grantId", grantId);
    return r;
  }

  static ObjectNode revokeGrant(String key, Instant t, String grantId) {
    ObjectNode r = adminChange("RevokeGrant", key, t);
    ((ObjectNode) r.get("requestParameters")).put("grantId", grantId);
    return r;
  }

  /** The DeleteKey service event KMS records when a pending deletion completes. */
  static ObjectNode deleteKey(String key, Instant t) {
    ObjectNode r = base("DeleteKey", t, key);
    r.putObject("userIdentity").put("accountId", CUSTOMER).put("invokedBy", "AWS Internal");
    r.put("sourceIPAddress", "AWS Internal").put("userAgent", "AWS Internal");
    r.putNull("requestParameters");
    r.putObject("responseElements").put("keyId", key);
    r.put("eventType", "AwsServiceEvent");
    r.put("readOnly", false);
    return r;
  }

  /** A record of another service (S3's GetObject data event). */
  static ObjectNode otherService(Instant t) {
    ObjectNode r = JSON.createObjectNode();
    r.put("eventVersion", "1.09")
        .put("eventTime", t.toString())
        .put("eventSource", "s3.amazonaws.com");
    r.put("eventName", "GetObject").put("eventID", UUID.randomUUID().toString());
    r.putObject("userIdentity").put("type", "AWSService").put("invokedBy", "s3.amazonaws.com");
    return r;
  }

  private static ObjectNode base(String eventName, Instant t, String key) {
    ObjectNode r = JSON.createObjectNode();
    r.put("eventVersion", "1.11");
    r.put("eventTime", t.toString());
    r.put("eventSource", "kms.amazonaws.com");
    r.put("eventName", eventName);
    r.put("awsRegion", "us-east-1");
    r.put("sourceIPAddress", "192.0.2.0");
    r.putNull("responseElements");
    r.put("requestID", UUID.randomUUID().toString());
    r.put("eventID", UUID.randomUUID().toString());
    r.putArray("resources")
        .addObject()
        .put("accountId", CUSTOMER)
        .put("type", "AWS::KMS::Key")
        .put("ARN", key);
    r.put("eventType", "AwsApiCall");
    r.put("managementEvent", true);
    r.put("recipientAccountId", CUSTOMER);
    r.put("eventCategory", "Management");
    return r;
  }

  private static ObjectNode error(ObjectNode r, String errorCode) {
    if (errorCode != null) {
      r.put("errorCode", errorCode);
      r.put("errorMessage", "arn:aws:kms:us-east-1:111122223333:key/... is disabled.");
    }
    return r;
  }

  /** Writes log files as CloudTrail delivers them, one per call, under {@code root}. */
  static final class Writer {
    private final Path root;
    private int files;

    Writer(Path root) {
      this.root = root;
    }

    /** One gzipped log file delivered at {@code delivered}, holding {@code records}. */
    Path file(Instant delivered, List<ObjectNode> records) {
      String day =
          DateTimeFormatter.ofPattern("yyyy/MM/dd").withZone(ZoneOffset.UTC).format(delivered);
      String stamp =
          DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmm'Z'")
              .withZone(ZoneOffset.UTC)
              .format(delivered);
      Path dir = root.resolve("AWSLogs/" + CUSTOMER + "/CloudTrail/us-east-1/" + day);
      Path f =
          dir.resolve(
              String.format("%s_CloudTrail_us-east-1_%s_%016d.json.gz", CUSTOMER, stamp, ++files));
      try {
        Files.createDirectories(dir);
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(f))) {
          ObjectNode doc = JSON.createObjectNode();
          doc.putArray("Records").addAll(new ArrayList<>(records));
          out.write(JSON.writeValueAsBytes(doc));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return f;
    }
  }
}
